"""Notifications: the member's messages, and their unread count in the navigation."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from app.notifications import routes  # noqa: E402,F401
