"""Accounts for tests: records, the member and admin fixtures, signing a client in."""

from __future__ import annotations

import pytest
from flask import g, session
from flask_login import login_user

from app.extensions import db
from app.models import User, utcnow
from app.services.accounts import register_user
from app.services.sessions import start_session
from tests.support.web import post_form

PASSWORD = "correct horse battery"
SESSION_KEYS = ("_user_id", "_fresh", "_id")  # what Flask-Login keeps in the cookie


def make_user(
    email: str = "ana@example.org",
    name: str = "Ana",
    *,
    admin: bool = False,
    password: str = PASSWORD,
    verified: bool = True,
) -> User:
    """Create and return an account, its email verified unless asked otherwise."""
    user = register_user(email, name, password, is_admin=admin)
    if verified:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the form, as a member does (for tests of signing in itself)."""
    return post_form(client, "/account/signin", {"email": email, "password": password})


def sign_in_as(client, user: User) -> None:
    """Sign client in as user without the form: a live session row and its cookie.

    The session is started by the service the sign-in form uses, and Flask-Login writes the
    cookie's keys (the session token and the browser's identifier) in a request made from the
    client's own address and user agent. As after the form, the test's app context (which
    outlives requests) keeps the signed-in account until a test forgets it.
    """
    with client.application.test_request_context(environ_base=client.environ_base):
        start_session(user)
        db.session.commit()
        login_user(user)
        signed = {key: session[key] for key in SESSION_KEYS if key in session}
    with client.session_transaction() as cookie:
        cookie.update(signed)


def signed_in(app, user: User):
    """A browser of its own, signed in as user."""
    # The test's app context outlives requests: forget the last member and their CSRF token.
    for cached in ("_login_user", "csrf_token"):
        g.pop(cached, None)
    client = app.test_client()
    sign_in_as(client, user)
    return client


@pytest.fixture
def member(app) -> User:
    return make_user("member@example.org", "Mia Member")


@pytest.fixture
def admin(app) -> User:
    return make_user("admin@example.org", "Ada Admin", admin=True)


@pytest.fixture
def member_client(client, member):
    sign_in_as(client, member)
    return client


@pytest.fixture
def admin_client(client, admin):
    sign_in_as(client, admin)
    return client
