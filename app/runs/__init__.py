"""Workflow tests and their runs: the form, the list, the live page, the log download."""

from flask import Blueprint

bp = Blueprint("runs", __name__, url_prefix="/runs")


def views() -> Blueprint:
    """The blueprint with its pages attached.

    They are imported here, not with the package: `flask compat-test` (app.runs.cli) uses
    none of them, nor the forms and services they bring along.
    """
    from app.runs import display, routes, values  # noqa: F401

    return bp
