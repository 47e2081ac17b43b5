"""How passwords are hashed: scrypt unless tests say otherwise, never cheaply in production."""

import pytest

from app import create_app
from app.passwords import hash_password, password_matches
from app.settings import settings
from tests.support.app import as_production, own_app


def test_a_start_without_the_setting_hashes_with_scrypt(config):
    with own_app(as_production(config)) as app:
        method = settings(app).password_hash_method
    assert method == "scrypt"
    stored = hash_password("correct horse battery", method)
    assert stored.startswith("scrypt:")
    assert password_matches(stored, "correct horse battery")
    assert not password_matches(stored, "correct horse battery!")


def test_the_tests_hash_with_one_round_and_still_check_passwords(member):
    assert member.password_hash.startswith("pbkdf2:sha256:1$")
    assert member.check_password("correct horse battery")
    assert not member.check_password("Correct horse battery")


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1", "pbkdf2:sha256:599999", "scrypt:1024:8:1"])
def test_a_production_start_refuses_a_cheap_hash(config, method):
    with pytest.raises(RuntimeError, match="refuses to hash passwords with"):
        create_app({**as_production(config), "PASSWORD_HASH_METHOD": method})


def test_a_cheap_hash_set_in_the_environment_stops_a_production_start(config, monkeypatch):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")
    with pytest.raises(RuntimeError, match="pbkdf2 with fewer than 600,000 iterations"):
        create_app(as_production(config))


def test_a_strong_pbkdf2_is_accepted_in_production(config):
    strong = {**as_production(config), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:600000"}
    with own_app(strong) as app:
        assert settings(app).password_hash_method == "pbkdf2:sha256:600000"


@pytest.mark.parametrize("method", ["md5", "scrypt:lots", "bcrypt"])
def test_a_mistyped_method_stops_any_start(config, method):
    with pytest.raises(ValueError, match="is not a method Benchgate knows"):
        create_app({**config, "PASSWORD_HASH_METHOD": method})
