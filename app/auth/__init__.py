"""Sign up, sign in, sign out."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/account")

from app.auth import email_routes, routes  # noqa: E402,F401
