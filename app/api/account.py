"""The caller's own account and notifications."""

from __future__ import annotations

from flask import g, jsonify
from flask_login import current_user

from app.api import bp
from app.api.common import moment


@bp.get("/me")
def me():
    """Who the token (or session) signs in as, and what the token may do."""
    token = g.api_token
    return jsonify(
        {
            "id": current_user.id,
            "email": current_user.email,
            "name": current_user.display_name,
            "is_admin": current_user.is_admin,
            "token": None
            if token is None
            else {
                "name": token.name,
                "scopes": token.scope_list,
                "expires_at": moment(token.expires_at),
            },
        }
    )
