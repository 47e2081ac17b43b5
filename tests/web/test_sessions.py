"""Signed-in sessions end for good: sign-out, password changes, resets, deactivation, the list."""

import time

import pytest
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import AccountSession, User
from app.runs import stream as stream_module
from app.services.accounts import set_active
from app.settings import reconfigure
from tests.support.accounts import PASSWORD
from tests.support.runs import start_run
from tests.support.web import post_form, sse_blocks


def forget_request_state() -> None:
    """The test's app context outlives requests: drop what a server would not keep."""
    for kept in ("_login_user", "csrf_token"):
        g.pop(kept, None)


def browser(app, email: str | None = None, *, remember: bool = False):
    """A new browser, signed in as email when given."""
    forget_request_state()
    client = app.test_client()
    if email:
        data = {"email": email, "password": PASSWORD}
        if remember:
            data["remember"] = "y"
        post_form(client, "/account/signin", data)
    return client


def is_signed_in(client) -> bool:
    forget_request_state()
    return client.get("/account/").status_code == 200


def copy_of(app, client):
    """Another browser holding copies of client's cookies (a stolen or kept cookie)."""
    other = browser(app)
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            other.set_cookie(name, cookie.value)
    return other


def test_a_copied_cookie_stops_working_once_its_session_signs_out(app, member):
    client = browser(app, member.email)
    stolen = copy_of(app, client)
    assert is_signed_in(stolen)
    post_form(client, "/account/signout", {}, page="/account/")
    assert not is_signed_in(client)
    assert not is_signed_in(stolen)


def test_the_cookie_holds_a_token_not_the_account_id(app, member):
    client = browser(app, member.email)
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(member.id) and len(token) >= 40
    stored = db.session.scalars(select(AccountSession.token_hash)).all()
    assert token not in stored  # only its hash is kept


def test_a_password_change_ends_every_other_session_remember_me_included(app, member):
    here = browser(app, member.email)
    elsewhere = browser(app, member.email, remember=True)
    remembered = browser(app)
    remembered.set_cookie("remember_token", elsewhere.get_cookie("remember_token").value)
    assert is_signed_in(remembered)  # the remember cookie alone opens the account
    forget_request_state()
    post_form(
        here,
        "/account/",
        {"current": PASSWORD, "password": "a new long password", "confirm": "a new long password"},
    )
    assert is_signed_in(here)  # this browser goes on, in a new session
    assert not is_signed_in(elsewhere)
    assert not is_signed_in(remembered)


@pytest.mark.parametrize("action", ["deactivate", "reset"])
def test_an_administrators_reset_or_deactivation_ends_every_session(app, member, admin, action):
    member_browser = browser(app, member.email, remember=True)
    assert is_signed_in(member_browser)
    admin_browser = browser(app, admin.email)
    if action == "deactivate":
        post_form(
            admin_browser, f"/admin/users/{member.id}/active", {"value": "0"}, page="/admin/users"
        )
    else:
        post_form(
            admin_browser,
            f"/admin/users/{member.id}/password",
            {},
            page=f"/admin/users/{member.id}/password",
        )
    assert not is_signed_in(member_browser)
    assert not is_signed_in(copy_of(app, member_browser))


def test_the_account_page_lists_sessions_and_ends_another(app, member):
    phone = browser(app, member.email)
    laptop = browser(app, member.email)
    forget_request_state()
    page = laptop.get(
        "/account/", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
    )
    text = page.get_data(as_text=True)
    assert text.count("Sign out there") == 1  # the phone; this browser is marked instead
    assert "This browser" in text
    other = db.session.scalars(
        select(AccountSession)
        .where(AccountSession.user_id == member.id)
        .order_by(AccountSession.id)
    ).first()
    forget_request_state()
    response = post_form(
        laptop, f"/account/sessions/{other.id}/end", {}, page="/account/", follow_redirects=True
    )
    assert "That session is ended" in response.get_data(as_text=True)
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)


def test_a_member_cannot_end_another_members_session(app, member, admin):
    browser(app, admin.email)
    admins = db.session.scalar(select(AccountSession.id).where(AccountSession.user_id == admin.id))
    client = browser(app, member.email)
    response = post_form(
        client, f"/account/sessions/{admins}/end", {}, page="/account/", follow_redirects=True
    )
    assert "had already ended" in response.get_data(as_text=True)
    assert db.session.get(AccountSession, admins).ended_at is None


def test_a_live_log_stream_stops_within_seconds_once_the_account_is_deactivated(
    app, member, admin, monkeypatch
):
    monkeypatch.setattr(stream_module, "ACCESS_CHECK_SECONDS", 0.3)
    reconfigure(app, SSE_BLOCK_MS=200)
    run_id = start_run(member).id
    member_id, admin_id = member.id, admin.id
    client = browser(app, member.email)
    forget_request_state()
    response = client.get(f"/runs/{run_id}/events", buffered=False)
    blocks = sse_blocks(response)
    assert next(blocks)["comments"] == ["connected"]
    # The stream let go of the database session, and with it the test's objects.
    set_active(db.session.get(User, member_id), False, by=db.session.get(User, admin_id))
    started = time.monotonic()
    events = [b for b in blocks if "event" in b]  # the stream ends by itself
    assert time.monotonic() - started < 5
    assert events[-1]["event"] == "signed_out"
    assert "signed out" in events[-1]["data"]


def test_a_browser_session_ends_after_its_hours_a_remembered_one_lasts_longer(app, member):
    reconfigure(app, SESSION_HOURS=0)  # every browser session is already too old
    plain = browser(app, member.email)
    remembered = browser(app, member.email, remember=True)
    assert not is_signed_in(plain)
    assert is_signed_in(remembered)
    reconfigure(app, SESSION_LIFETIME_DAYS=0)
    assert not is_signed_in(remembered)
