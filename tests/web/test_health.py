"""The /healthz probe with Redis up and with Redis stopped."""

import pytest

from app import create_app
from tests.support.app import as_production, own_app
from tests.support.services import RedisServer


def test_healthz_reports_everything_reachable(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] is True
    assert body["redis"] is True
    assert body["workers"] == 0
    assert isinstance(body["docker"], bool)


def test_healthz_answers_503_when_redis_stops(config, tmp_path):
    server = RedisServer(tmp_path / "own-redis").start()
    try:
        with own_app({**config, "REDIS_URL": server.url}) as app, app.test_client() as client:
            assert client.get("/healthz").status_code == 200
            server.stop()
            response = client.get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["redis"] is False
        assert body["database"] is True
        assert body["status"] == "unavailable"
    finally:
        server.stop()


def test_healthz_answers_503_when_the_database_is_unreachable(config, tmp_path):
    broken = {**config, "DATABASE_URL": f"sqlite:///{tmp_path}/missing-folder/x/db.sqlite"}
    with own_app(broken) as app, app.test_client() as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] is False


def test_production_start_with_default_secret_key_refuses(config):
    settings = {**as_production(config), "SECRET_KEY": "change-me"}
    with pytest.raises(RuntimeError, match="refuses to start with the default SECRET_KEY"):
        create_app(settings)


def test_production_start_sends_secure_cookies_unless_told_otherwise(config):
    production = as_production(config)
    with own_app(production) as app:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    with own_app({**production, "COOKIES_SECURE": "0"}) as app:
        assert not app.config["SESSION_COOKIE_SECURE"]
    with own_app(config) as app:  # tests and development: plain HTTP
        assert not app.config["SESSION_COOKIE_SECURE"]
