"""Personal access tokens: made on the account pages, shown once, scoped, revoked, limited."""

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken, utcnow
from app.services.accounts import set_active
from app.settings import reconfigure
from tests.support.api import call, make_token
from tests.support.web import csrf_token, post_form

SECRET_RE = re.compile(r'<code class="token-secret">(bgt_[A-Za-z0-9_-]+)</code>')


def test_a_token_made_on_the_account_page_is_shown_once_and_stored_hashed(member_client):
    page = post_form(
        member_client,
        "/account/tokens/",
        {"name": "GitHub CI", "scopes": ["write"], "expires": "30"},
    )
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    secret = SECRET_RE.search(page.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.token_hash and token.prefix == secret[:12]
    assert token.scope_list == ["read", "write"]
    assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)
    again = member_client.get("/account/tokens/").get_data(as_text=True)
    assert secret not in again and "GitHub CI" in again and token.prefix in again


def test_the_account_page_links_to_the_tokens_page(member_client):
    assert "/account/tokens/" in member_client.get("/account/").get_data(as_text=True)


def test_a_token_without_a_name_is_refused_next_to_the_field(member_client):
    page = post_form(member_client, "/account/tokens/", {"name": " ", "expires": "30"})
    assert "Give the token a name" in page.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_a_member_cannot_make_an_admin_token(member_client):
    post_form(member_client, "/account/tokens/", {"name": "x", "scopes": ["admin"], "expires": "7"})
    assert db.session.scalar(select(ApiToken)) is None


def test_a_bearer_token_signs_in_and_notes_its_last_use(client, member):
    secret = make_token(member)
    answer = call(client, "GET", "/runs", secret)
    assert answer.status_code == 200 and answer.json == {"items": [], "next_cursor": None}
    assert "Set-Cookie" not in answer.headers  # a script gets no session
    assert db.session.scalar(select(ApiToken.last_used_at)) is not None
    me = call(client, "GET", "/me", secret).json
    assert me["email"] == member.email and me["token"]["scopes"] == ["read", "write"]


def test_without_a_token_the_api_answers_401_in_json(client):
    answer = call(client, "GET", "/runs")
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "unauthenticated"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(client, member):
    make_token(member)
    answer = call(client, "GET", "/runs", "bgt_" + "x" * 43)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_token"


def test_a_revoked_token_stops_working_at_once(member_client, member):
    secret = make_token(member)
    token_id = db.session.scalar(select(ApiToken.id))
    assert call(member_client, "GET", "/runs", secret).status_code == 200
    post_form(member_client, f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens/")
    assert call(member_client, "GET", "/runs", secret).status_code == 401
    page = member_client.get("/account/tokens/").get_data(as_text=True)
    assert "You have no tokens yet." in page


def test_an_expired_token_is_refused(client, member):
    secret = make_token(member, days=7)
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert call(client, "GET", "/runs", secret).status_code == 401


def test_deactivation_ends_tokens_for_good(client, member, admin):
    secret = make_token(member)
    set_active(member, False, by=admin)
    assert call(client, "GET", "/runs", secret).status_code == 401
    set_active(member, True, by=admin)
    assert call(client, "GET", "/runs", secret).status_code == 401
    assert db.session.scalar(select(ApiToken.revoke_reason)) == "account deactivated"


def test_a_read_only_token_cannot_start_a_test(client, member):
    secret = make_token(member, scopes=())
    answer = call(client, "POST", "/runs", secret, json={})
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "insufficient_scope"


def test_a_token_needs_no_csrf_token_but_a_cookie_session_does(member_client, member):
    secret = make_token(member)
    with_token = call(member_client, "POST", "/runs", secret, json={})
    assert with_token.status_code == 422  # checked, not refused for CSRF
    by_cookie = call(member_client, "POST", "/runs", json={})
    assert by_cookie.status_code == 400
    assert by_cookie.json["error"]["code"] == "csrf_failed"
    token = csrf_token(member_client, "/account/")
    with_header = call(member_client, "POST", "/runs", headers={"X-CSRFToken": token}, json={})
    assert with_header.status_code == 422


def test_each_token_has_its_own_rate_limit(app, client, member):
    reconfigure(app, API_TOKEN_LIMIT="3 per minute")
    first, second = make_token(member), make_token(member)
    answers = [call(client, "GET", "/runs", first).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = call(client, "GET", "/runs", first)
    assert refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert call(client, "GET", "/runs", second).status_code == 200


def test_unknown_paths_and_methods_answer_in_json(client, member):
    secret = make_token(member)
    missing = call(client, "GET", "/nothing-here", secret)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = call(client, "DELETE", "/runs", secret)
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"
