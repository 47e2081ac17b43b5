"""The WSGI entry point: gunicorn 'wsgi:app'; also the app of the `flask` command line.

`flask compat-test` gets the app without the portal's pages (app.web_needed).
"""

import gc
import sys

# Start-up builds hundreds of thousands of objects that all live as long as the process
# (modules, mappers, compiled templates): collecting while they are made only walks them
# again and again, about a sixth of the import time of a `flask` command. Collections resume
# below, once the heap is frozen.
gc.disable()

from app import create_app, web_needed  # noqa: E402

app = create_app(web=web_needed(sys.argv))

# What start-up made lives as long as the process, yet every full collection walked it again:
# nearly a fifth of a list page's CPU went there. Frozen, it is left alone; a higher first
# threshold lets a page's thousands of short-lived objects be freed by reference counting
# before a collection is due.
gc.freeze()
gc.set_threshold(10_000, 20, 20)
gc.enable()
