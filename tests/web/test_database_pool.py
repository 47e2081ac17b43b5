"""Pooled database connections: checked before use only after sitting idle, replaced if dead."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.database import IDLE_SINCE
from app.extensions import db
from tests.support.app import TEST_DATABASE_URL, own_app
from tests.support.web import post_form

postgres_only = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL")


def _count_pings(monkeypatch) -> list[int]:
    pings: list[int] = []
    dialect = db.engine.dialect
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    return pings


def test_a_connection_back_a_moment_ago_is_used_without_a_ping(config, monkeypatch):
    with own_app({**config, "DB_PING_AFTER_SECONDS": 60.0}) as app, app.app_context():
        pings = _count_pings(monkeypatch)
        for _ in range(3):
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []


def test_a_connection_idle_longer_than_the_setting_is_pinged_first(config, monkeypatch):
    with own_app({**config, "DB_PING_AFTER_SECONDS": 60.0}) as app, app.app_context():
        pings = _count_pings(monkeypatch)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            record = conn.connection._connection_record
        record.info[IDLE_SINCE] -= 61  # as if it had gone back a minute ago
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == [1]


@postgres_only
def test_an_idle_connection_the_server_closed_is_replaced_before_a_page_uses_it(config):
    with own_app({**config, "DB_PING_AFTER_SECONDS": 0.0}) as app:
        client = app.test_client()
        with app.app_context():
            with db.engine.connect() as conn:
                pooled = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            # Another connection ends the pooled one, as a database restart would.
            with db.engine.pool._creator() as other:
                other.autocommit = True
                other.execute("SELECT pg_terminate_backend(%s)", (pooled,))
        # The sign-up page reads nothing; sign-up writes and reads the account.
        answer = post_form(
            client,
            "/account/signup",
            {
                "display_name": "Pia Pool",
                "email": "pia@example.org",
                "password": "a long enough password",
                "confirm": "a long enough password",
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
        with app.app_context():
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pooled
