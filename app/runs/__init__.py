"""Workflow tests and their runs: the form, the list, the live page, the log download."""

from flask import Blueprint

bp = Blueprint("runs", __name__, url_prefix="/runs")

from app.runs import display, routes, values  # noqa: E402,F401
