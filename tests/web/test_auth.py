"""Sign-up, sign-in, sign-out and access rules, as a browser would exercise them."""

import time

from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import csrf_token, own_app, post_form, sign_in
from tests.factories import PASSWORD, make_user

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
    assert user.password_hash.startswith("scrypt:")
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


def test_sign_out_ends_the_session(member_client):
    assert "Signed in as" in member_client.get("/").get_data(as_text=True)
    response = post_form(member_client, "/account/signout", {}, page="/")
    assert response.status_code == 302
    assert "Signed in as" not in member_client.get("/").get_data(as_text=True)


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


def test_failed_sign_ins_pause_that_email_then_sign_in_works_again(app, client):
    app.config["SIGNIN_LIMIT"] = "3 per 2 seconds"
    user = make_user("rita@example.org", "Rita")
    for _ in range(3):
        refused = sign_in(client, user.email, "a wrong guess")
        assert refused.status_code == 200
        assert "The email or the password is wrong." in refused.text
    # Paused: even the right password is not tried, and the form says for how long.
    paused = sign_in(client, user.email)
    assert paused.status_code == 429
    assert "Too many failed sign-ins with this email" in paused.text
    assert "try again in 1 minute" in paused.text
    assert 'value="rita@example.org"' in paused.text  # what was typed stays
    # Another email from the same address is not paused.
    assert "Too many" not in sign_in(client, "other@example.org", "x").text
    time.sleep(4.1)  # the sliding window weighs the last one too
    assert sign_in(client, user.email).status_code == 302


def test_a_successful_sign_in_does_not_count_against_the_limit(app):
    app.config["SIGNIN_LIMIT"] = "2 per minute"
    user = make_user("sam@example.org", "Sam")
    for _ in range(4):
        for kept in ("_login_user", "csrf_token"):  # the test's app context outlives requests
            g.pop(kept, None)
        assert sign_in(app.test_client(), user.email).status_code == 302


def test_sign_ups_from_one_address_are_limited(app, client):
    app.config["SIGNUP_LIMIT"] = "2 per hour"
    for number in range(2):
        answer = post_form(client, "/account/signup", {**SIGNUP, "email": f"a{number}@x.org"})
        assert answer.status_code == 302
        client.post("/account/signout", data={"csrf_token": csrf_token(client, "/")})
    refused = post_form(client, "/account/signup", {**SIGNUP, "email": "a2@x.org"})
    assert refused.status_code == 429
    assert "sign-up is paused" in refused.text
    assert 'value="a2@x.org"' in refused.text
    assert db.session.scalar(select(db.func.count(User.id))) == 2


def test_sign_in_still_works_while_redis_is_down(app, config):
    user = make_user("una@example.org", "Una")
    unreachable = {**config, "REDIS_URL": "redis://127.0.0.1:1/0", "SIGNIN_LIMIT": "2 per minute"}
    with own_app(unreachable) as app:
        client = app.test_client()
        assert sign_in(client, user.email).status_code == 302
        # Counted in this process meanwhile.
        other = app.test_client()
        for _ in range(2):
            assert sign_in(other, user.email, "wrong").status_code == 200
        assert sign_in(other, user.email).status_code == 429
