"""Calling the API from tests: tokens made through the service, requests with their header."""

from __future__ import annotations

from flask import g

from app.services.api_tokens import create_token


def make_token(user, scopes=("write",), days: int | None = 30) -> str:
    """A new token of user; return its secret."""
    _token, secret = create_token(user, "tests", list(scopes), days)
    return secret


def call(client, method: str, path: str, token: str | None = None, **kwargs):
    """One API request, as a script sends it (with a Bearer token when given)."""
    for kept in ("_login_user", "csrf_token", "api_token"):
        g.pop(kept, None)  # the test's app context outlives requests; a server's does not
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
