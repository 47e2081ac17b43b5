"""Benchmarks: the catalogue, the owner's list, submission, detail pages and edits."""

from flask import Blueprint

bp = Blueprint("benchmarks", __name__, url_prefix="/benchmarks")

from app.benchmarks import display, routes  # noqa: E402,F401
