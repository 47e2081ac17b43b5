"""The administrator's review queue and decisions on benchmarks."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/admin/review")

from app.review import routes  # noqa: E402,F401
