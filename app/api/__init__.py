"""The JSON API under /api/v1/: the portal's services for scripts, with personal access tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import (  # noqa: E402,F401
    account,
    auth,
    benchmarks,
    containers,
    docs,
    errors,
    joins,
    review,
    runs,
)
