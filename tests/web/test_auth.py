"""Sign-up, sign-in, sign-out and access rules, as a browser would exercise them."""

import re

import pytest
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.audit import activity_page
from app.services.throttle import client_key
from app.settings import reconfigure
from tests.support.accounts import PASSWORD, make_user, sign_in
from tests.support.app import own_app
from tests.support.web import post_form

SIGNUP = {
    "display_name": "Ana Silva",
    "email": "Ana@Hospital.org",
    "password": PASSWORD,
    "confirm": PASSWORD,
}


def test_sign_up_creates_account_and_signs_in(client, app):
    response = post_form(client, "/account/signup", SIGNUP, follow_redirects=True)
    assert response.status_code == 200
    assert "Welcome, Ana Silva" in response.get_data(as_text=True)
    user = db.session.scalar(select(User))
    assert user.email == "ana@hospital.org"
    assert user.password_hash.startswith("pbkdf2:sha256:1$")  # the tests' PASSWORD_HASH_METHOD
    assert PASSWORD not in user.password_hash


def test_sign_up_with_an_email_in_another_case_is_refused(client, app):
    make_user("ana@hospital.org")
    response = post_form(client, "/account/signup", {**SIGNUP, "email": "ANA@HOSPITAL.ORG"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "An account with this email already exists" in body
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_sign_up_errors_are_shown_next_to_each_field(client, app):
    response = post_form(
        client,
        "/account/signup",
        {"display_name": "", "email": "not-an-email", "password": "short", "confirm": "other"},
    )
    body = response.get_data(as_text=True)
    assert "Please enter your name." in body
    assert "This does not look like an email address" in body
    assert "Use at least 10 characters" in body
    assert "The two passwords are not the same." in body
    assert 'aria-invalid="true"' in body
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_wrong_password_is_refused(client, member):
    response = sign_in(client, member.email, "not the password")
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 302  # still anonymous


def test_sign_in_with_uppercase_email_works(client, member):
    response = sign_in(client, member.email.upper())
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Signed in as" in home and member.display_name in home


def test_sign_out_ends_the_session(client, member):
    sign_in(client, member.email)
    assert "Signed in as" in client.get("/").get_data(as_text=True)
    response = post_form(client, "/account/signout", {}, page="/")
    assert response.status_code == 302
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(client, member):
    member.active = False
    db.session.commit()
    response = sign_in(client, member.email)
    assert "This account has been deactivated" in response.get_data(as_text=True)
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


def test_remember_me_sets_a_lasting_cookie(client, member):
    post_form(
        client, "/account/signin", {"email": member.email, "password": PASSWORD, "remember": "y"}
    )
    assert client.get_cookie("remember_token") is not None


def test_session_cookie_is_httponly_and_samesite_lax(client, member):
    response = sign_in(client, member.email)
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_required_redirects_back_to_the_page_asked_for(client, member):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/account/signin?next=%2Fadmin%2Fusers" in response.headers["Location"]
    response = post_form(
        client,
        "/account/signin?next=%2Fadmin%2Fusers",
        {"email": member.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/users"


def test_next_parameter_cannot_send_to_another_site(client, member):
    response = post_form(
        client,
        "/account/signin?next=https://evil.example/",
        {"email": member.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_admin_page_gives_403_to_a_member(member_client):
    response = member_client.get("/admin/users")
    assert response.status_code == 403
    assert "You are not allowed to see this page" in response.get_data(as_text=True)


def test_admin_sees_the_accounts_page(admin_client, member):
    response = admin_client.get("/admin/users")
    assert response.status_code == 200
    assert member.email in response.get_data(as_text=True)


def test_post_without_csrf_token_gives_400(client, app):
    response = client.post("/account/signup", data=SIGNUP)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_admin_can_deactivate_a_member_but_not_themselves(admin_client, admin, member):
    post_form(admin_client, f"/admin/users/{member.id}/active", {"value": "0"}, page="/admin/users")
    db.session.refresh(member)
    assert member.active is False
    response = post_form(
        admin_client,
        f"/admin/users/{admin.id}/active",
        {"value": "0"},
        page="/admin/users",
        follow_redirects=True,
    )
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active is True


def test_unknown_page_gives_a_friendly_404(client, app):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_admin_makes_a_member_admin_then_removes_it_but_not_their_own(admin_client, admin, member):
    post_form(admin_client, f"/admin/users/{member.id}/admin", {"value": "1"}, page="/admin/users")
    db.session.refresh(member)
    assert member.is_admin is True
    post_form(admin_client, f"/admin/users/{member.id}/admin", {"value": "0"}, page="/admin/users")
    db.session.refresh(member)
    assert member.is_admin is False
    response = post_form(
        admin_client,
        f"/admin/users/{admin.id}/admin",
        {"value": "0"},
        page="/admin/users",
        follow_redirects=True,
    )
    assert "You cannot remove your own administrator rights." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.is_admin is True


# Throttling


def test_failed_sign_ins_pause_that_email_even_for_the_right_password(app, client):
    reconfigure(app, SIGNIN_LIMIT="3 per hour")
    user = make_user("rita@example.org", "Rita")
    for _ in range(3):
        refused = sign_in(client, user.email, "a wrong guess")
        assert refused.status_code == 200
        assert "The email or the password is wrong." in refused.text
    paused = sign_in(client, user.email)
    assert paused.status_code == 429 and paused.headers["Retry-After"] == "60"
    assert "Too many failed sign-ins with this email" in paused.text
    assert re.search(r"try again in \d+ minutes?\.", paused.text)
    assert 'value="rita@example.org"' in paused.text  # what was typed stays
    # Another email from the same address is not paused.
    assert "Too many" not in sign_in(client, "other@example.org", "x").text


def test_a_successful_sign_in_forgets_the_failures_before_it(app):
    reconfigure(app, SIGNIN_LIMIT="3 per hour")
    user = make_user("sam@example.org", "Sam")
    for _ in range(3):
        for _ in range(2):
            assert sign_in(fresh_client(app), user.email, "wrong").status_code == 200
        assert sign_in(fresh_client(app), user.email).status_code == 302


def test_failures_with_many_emails_from_one_address_pause_the_address(app, client):
    reconfigure(app, SIGNIN_ADDRESS_LIMIT="4 per hour")
    for number in range(4):
        assert sign_in(client, f"guess{number}@example.org", "Winter2026!").status_code == 200
    paused = sign_in(client, "guess5@example.org", "Winter2026!")
    assert paused.status_code == 429
    assert "Too many failed sign-ins from your network" in paused.text


def test_sign_ups_from_one_address_are_limited_refused_ones_included(app, client):
    reconfigure(app, SIGNUP_LIMIT="3 per hour")
    make_user("taken@x.org")
    answer = post_form(client, "/account/signup", {**SIGNUP, "email": "taken@x.org"})
    assert "already exists" in answer.text  # asking whether an email has an account counts
    for number in range(2):
        answer = post_form(
            fresh_client(app), "/account/signup", {**SIGNUP, "email": f"a{number}@x.org"}
        )
        assert answer.status_code == 302
    refused = post_form(fresh_client(app), "/account/signup", {**SIGNUP, "email": "a2@x.org"})
    assert refused.status_code == 429
    assert "sign-up is paused" in refused.text
    assert 'value="a2@x.org"' in refused.text
    assert db.session.scalar(select(db.func.count(User.id))) == 3


def test_sign_in_still_works_while_redis_is_down(app, config):
    user = make_user("una@example.org", "Una")
    unreachable = {**config, "REDIS_URL": "redis://127.0.0.1:1/0", "SIGNIN_LIMIT": "2 per hour"}
    with own_app(unreachable) as app:
        client = app.test_client()
        assert sign_in(client, user.email).status_code == 302
        # Counted in this process meanwhile.
        other = app.test_client()
        for _ in range(2):
            assert sign_in(other, user.email, "wrong").status_code == 200
        assert sign_in(other, user.email).status_code == 429


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
    ],
)
def test_one_client_is_one_ipv4_address_or_one_ipv6_slash_64(address, key):
    assert client_key(address) == key


def test_behind_a_proxy_the_forwarded_address_is_counted_only_when_trusted(config):
    sent = {
        "environ_base": {"REMOTE_ADDR": "10.0.0.1"},
        "headers": {"X-Forwarded-For": "198.51.100.4"},
    }
    seen = {}
    for hops in (0, 1):
        with own_app({**config, "PROXY_HOPS": hops}) as app:

            @app.get("/address-seen")
            def address_seen():
                from flask import request

                return request.remote_addr

            seen[hops] = app.test_client().get("/address-seen", **sent).text
    assert seen == {0: "10.0.0.1", 1: "198.51.100.4"}


def fresh_client(app):
    """A new browser: no cookie, and nothing of the last request left in the test's context."""
    for kept in ("_login_user", "csrf_token"):  # the test's app context outlives requests
        g.pop(kept, None)
    return app.test_client()


# Passwords


def test_a_member_changes_their_password_with_the_present_one(app, member_client, member):
    url = "/account/"
    wrong = post_form(
        member_client,
        url,
        {
            "current": "not it at all",
            "password": "a new long password",
            "confirm": "a new long password",
        },
    )
    assert wrong.status_code == 200 and "This is not your present password." in wrong.text
    assert member.check_password(PASSWORD)
    done = post_form(
        member_client,
        url,
        {"current": PASSWORD, "password": "a new long password", "confirm": "a new long password"},
    )
    assert done.status_code == 302
    db.session.refresh(member)
    assert member.check_password("a new long password") and not member.check_password(PASSWORD)
    assert sign_in(fresh_client(app), member.email, "a new long password").status_code == 302
    (event,) = activity_page("user", per_page=10).items
    assert (event.action, event.subject_name) == ("change_password", member.email)


def test_an_administrator_gives_a_new_password_shown_once(app, admin, member):
    client = signed_in_as(app, admin)
    url = f"/admin/users/{member.id}/password"
    asked = client.get(url)  # a first step that changes nothing
    assert "stops working at once" in asked.text and 'id="new-password"' not in asked.text
    db.session.refresh(member)
    assert member.check_password(PASSWORD)
    answer = post_form(client, url, {})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code id="new-password">([^<]+)</code>', answer.text)[1]
    db.session.refresh(member)
    assert member.check_password(password) and not member.check_password(PASSWORD)
    assert password not in client.get("/admin/users").text  # not kept anywhere to show again
    assert sign_in(fresh_client(app), member.email, password).status_code == 302


def test_a_member_cannot_give_passwords(app, member_client, admin):
    answer = post_form(member_client, f"/admin/users/{admin.id}/password", {}, page="/")
    assert answer.status_code == 403
    assert admin.check_password(PASSWORD)


def signed_in_as(app, user):
    client = fresh_client(app)
    assert sign_in(client, user.email).status_code == 302
    return client
