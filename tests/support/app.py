"""The app under test: its settings, a database and a private Redis per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from app import _sqlalchemy_url, create_app
from app.extensions import db
from tests.support.services import RedisServer

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")

# Limits small enough for tests that run containers; images are built here, never pulled.
WORKER_LIMITS = {
    "CONTAINER_MEMORY_BYTES": 256 * 2**20,
    "CONTAINER_TIMEOUT_SECONDS": 60.0,
    "IMAGE_PULL_POLICY": "never",
    "CONTAINER_PIDS_LIMIT": 128,
}


def base_config(database_url: str, redis_url: str, work_dir: str) -> dict:
    """The settings every test's app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WORK_DIR": work_dir,
        "FETCH_ALLOWED_HOSTS": "127.0.0.1",
        # The Docker tests run benchgate-test/* images built on this engine, never pulled.
        "ALLOWED_REGISTRIES": "docker.io,local",
        # One round instead of scrypt's: tests create and sign in hundreds of accounts.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
    }


def as_production(config: dict) -> dict:
    """The test's settings as a production start has them: not testing, strong hashes."""
    production = {**config, "TESTING": False, "SECRET_KEY": "a-long-random-value"}
    del production["PASSWORD_HASH_METHOD"]
    return production


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A private redis-server for the whole session (flushed before each test that uses it)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[None]:
    """On PostgreSQL, build the tables once per session from the models."""
    if not TEST_DATABASE_URL:
        yield
        return
    app = create_app(base_config(TEST_DATABASE_URL, "redis://127.0.0.1:1/0", "unused"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    yield


@pytest.fixture
def database_url(tmp_path, _postgres_schema) -> str:
    """A database for this test: a fresh SQLite file, or the emptied PostgreSQL test database."""
    if TEST_DATABASE_URL:
        empty_postgres(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


def empty_postgres(url: str) -> None:
    """Empty every table of the PostgreSQL test database, restarting its ids."""
    engine = create_engine(_sqlalchemy_url(url))
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            # A worker process of the last test may still be ending its transaction: this
            # database is the tests' own, so its other sessions are ended rather than waited
            # for (waiting can deadlock with TRUNCATE's locks, taken table by table).
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def config(database_url, redis_server, tmp_path) -> dict:
    """The settings of this test's app; tests may change them before using `app`."""
    client = Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return base_config(database_url, redis_server.url, str(tmp_path / "work"))


@pytest.fixture
def app(config):
    """The application, with its tables created (SQLite) or emptied (PostgreSQL)."""
    app = create_app(config)
    with app.app_context():
        if not TEST_DATABASE_URL:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()
    close_redis_clients(app)


@contextmanager
def own_app(settings: dict, *, web: bool = True) -> Iterator:
    """An extra app for one test, whose database connections and Redis clients are closed after.

    web=False builds it as `flask compat-test` does (create_app(web=False)).

    Left open, a PostgreSQL connection is closed by the garbage collector during some later
    test, whose run then fails on the ResourceWarning.
    """
    extra = create_app(settings, web=web)
    try:
        yield extra
    finally:
        with extra.app_context():
            db.engine.dispose()
        close_redis_clients(extra)


def close_redis_clients(app) -> None:
    """Close every Redis client an app made: the queue's, the live logs', the throttle's."""
    for key in ("redis", "redis_stream", "redis_throttle"):
        client = app.extensions.get(key)
        if client is not None:
            client.close()
