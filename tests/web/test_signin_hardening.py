"""Sign-in does not tell which emails have accounts, and sends nobody to another site."""

import pytest
import werkzeug.security

import app.passwords as passwords
from app.extensions import db
from tests.support.accounts import PASSWORD, make_user
from tests.support.web import post_form


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """Every password hash checked, recorded as the hash it was checked against."""
    checked: list[str] = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", counting)
    return checked


def sign_in(client, email: str, password: str):
    return post_form(client, "/account/signin", {"email": email, "password": password})


def test_an_unknown_email_costs_one_password_hash_like_a_known_one(client, app, hashed):
    known = make_user("known@example.org")
    response = sign_in(client, "nobody@example.org", "some password")
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    assert len(hashed) == 1
    # A hash made the way real ones are: the same algorithm and cost.
    assert hashed[0].split("$")[0] == known.password_hash.split("$")[0]
    response = sign_in(client, "known@example.org", "not the password")
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    assert len(hashed) == 2 and hashed[1] == known.password_hash


def test_a_deactivated_account_costs_one_password_hash_too(client, app, hashed):
    user = make_user("gone@example.org")
    user.active = False
    db.session.commit()
    response = sign_in(client, "gone@example.org", "wrong password")
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    response = sign_in(client, "gone@example.org", PASSWORD)
    assert "This account has been deactivated" in response.get_data(as_text=True)
    assert len(hashed) == 2


def sign_in_then(client, member, target: str):
    return post_form(
        client,
        "/account/signin",
        {"email": member.email, "password": PASSWORD},
        query_string={"next": target},
    )


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/runs/\r\nSet-Cookie: stolen=1",
        "\t//evil.example",
        "/" + "a" * 5000,
        "evil.example",
        "",
    ],
)
def test_odd_next_values_send_the_member_home(client, member, target):
    response = sign_in_then(client, member, target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/runs/?page=2", "/runs/%0d%0aSet-Cookie:x", "/%2F%2Fevil"])
def test_a_path_on_this_site_is_where_sign_in_goes_back_to(client, member, target):
    # Percent-encoded characters stay in the path: the browser does not decode them there.
    response = sign_in_then(client, member, target)
    assert response.status_code == 302 and response.headers["Location"] == target
