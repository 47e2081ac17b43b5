"""Join requests: asking to join an approved benchmark with a model, decisions, the policy."""

from flask import Blueprint

bp = Blueprint("joins", __name__, url_prefix="/benchmarks")

from app.joins import display, routes  # noqa: E402,F401
