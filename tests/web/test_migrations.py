"""Migrations build the whole schema on an empty database, with no drift from the models."""

import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.app import TEST_DATABASE_URL
from tests.support.processes import PROJECT_ROOT, flask_command, worker_env


def _flask_db(database_url: str, *args: str) -> subprocess.CompletedProcess:
    config = {
        "SECRET_KEY": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "WORK_DIR": "",
    }
    return subprocess.run(
        flask_command("db", *args),
        cwd=PROJECT_ROOT,
        env=worker_env(config),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def empty_database_url(tmp_path):
    """An empty database nobody created tables in: SQLite, or a new PostgreSQL database."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    from app import _sqlalchemy_url

    name = f"benchgate_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_sqlalchemy_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_on_empty_database_then_check_reports_no_drift(empty_database_url):
    upgrade = _flask_db(empty_database_url, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = _flask_db(empty_database_url, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
