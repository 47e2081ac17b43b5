"""Personal access tokens of the API, made and revoked from the account pages."""

from flask import Blueprint

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")

from app.tokens import routes  # noqa: E402,F401
