"""The WSGI entry point: gunicorn 'wsgi:app'."""

import gc

from app import create_app

app = create_app()

# What start-up made (modules, mappers, compiled templates) lives as long as the process, yet
# every full collection walked it again: nearly a fifth of a list page's CPU went there.
# Frozen, it is left alone; a higher first threshold lets a page's thousands of short-lived
# objects be freed by reference counting before a collection is due.
gc.freeze()
gc.set_threshold(10_000, 20, 20)
