"""Containers: the catalogue, registration from links, detail pages and state changes."""

from flask import Blueprint

bp = Blueprint("containers", __name__, url_prefix="/containers")

from app.containers import routes  # noqa: E402,F401
