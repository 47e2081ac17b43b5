"""An application context for code that runs in a worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

from app import create_app


@contextmanager
def app_context() -> Iterator[Flask]:
    """Use the current app when `flask worker` pushed one, else build one from the environment."""
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    app = create_app()
    with app.app_context():
        yield app
