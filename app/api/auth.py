"""Who calls the API: a personal access token (Bearer), or a signed-in browser with CSRF."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from app.api import bp
from app.api.errors import ApiError
from app.extensions import csrf
from app.services.api_tokens import find_token
from app.services.throttle import throttle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Everything under /api/v1/ is exempt from the app-wide check; authenticate() below applies
# it again to every request that is not made with a token, so a cookie never skips it.
csrf.exempt(bp)


def public(view: Callable) -> Callable:
    """Mark a view that answers without signing in (the API's own description)."""
    view.api_public = True
    return view


def admin_only(view: Callable) -> Callable:
    """Let only administrators through (with a token: one with the admin scope)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            raise ApiError(403, "forbidden", "Only administrators may do this.")
        return view(*args, **kwargs)

    wrapped.api_scope = "admin"
    return wrapped


def bearer_secret() -> str | None:
    """The token of an `Authorization: Bearer ...` header, if the request has one."""
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer":
        return None
    return value.strip()


@bp.before_request
def authenticate():
    """Sign the request in with its token, or check a cookie session's CSRF token."""
    g.pop("_login_user", None)  # whoever an earlier request of this context signed in
    g.api_token = None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "api_public", False):
        return None
    secret = bearer_secret()
    if secret is not None:
        token = find_token(secret)
        if token is None:
            raise ApiError(
                401,
                "invalid_token",
                "This token is unknown, expired or revoked, or its account is deactivated. "
                "Make a new one on your account page.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        wait = throttle().take_api_request(token.id)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"This token made too many requests; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
        needed = getattr(view, "api_scope", None) or (  # admin_only sets "admin"
            "read" if request.method in SAFE_METHODS else "write"
        )
        if not token.allows(needed):
            raise ApiError(
                403,
                "insufficient_scope",
                f"This token lacks the {needed} scope this request needs.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{needed}"'},
            )
        g._login_user = token.user  # what Flask-Login's current_user returns
        g.api_token = token
        return None
    if not current_user.is_authenticated:
        raise ApiError(
            401,
            "unauthenticated",
            "Send a personal access token: `Authorization: Bearer <token>`. Make one on your "
            "account page.",
            headers={"WWW-Authenticate": 'Bearer realm="benchgate"'},
        )
    if request.method not in SAFE_METHODS:
        try:
            csrf.protect()
        except CSRFError as error:
            raise ApiError(400, "csrf_failed", error.description) from error
    return None
