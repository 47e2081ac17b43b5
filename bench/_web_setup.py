"""Setting up bench/web_load.py: its own database, the schema, and the pages' query counts."""

from __future__ import annotations

import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from _seed import ADMIN_ID, MEMBER_ID
from _web_measure import Page
from sqlalchemy import event

from app import create_app
from app.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def private_database() -> Iterator[str]:
    """Create a database of our own on the local server; yield its name; drop it at the end."""
    name = f"benchgate_load_{secrets.token_hex(4)}"
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with psycopg.connect("dbname=postgres", autocommit=True) as admin:
            # FORCE ends the sessions gunicorn may still hold: all of them on this database only.
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate(env: dict[str, str]) -> None:
    """Build the schema the way production does: `flask db upgrade`."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError("flask db upgrade failed:\n" + done.stderr[-3000:])


def first_approved_benchmark(dbname: str) -> int:
    """Return the id of the first approved benchmark (it exists at both data sizes)."""
    with psycopg.connect(f"dbname={dbname}") as conn:
        row = conn.execute("SELECT min(id) FROM benchmarks WHERE status = 'approved'").fetchone()
    return row[0]


def _session_token(app, user_id: int) -> str:
    """Open a signed-in session for an account, as the sign-in form does; return its token."""
    from app.models import User
    from app.services.sessions import open_session

    with app.test_request_context():
        user = db.session.get(User, user_id)
        open_session(user)
        return user.session_token


def count_queries(
    config: dict, page_list: list[Page], label: str, queries: dict, alone_ms: dict
) -> None:
    """Open each page with the Flask test client and count the SQL statements it sends.

    Fills queries[page name][label] with the count, and alone_ms[page name] with the median
    time of five requests one at a time, in-process.
    """
    app = create_app(config)
    with app.app_context():
        engine = db.engine
    tokens = {user_id: _session_token(app, user_id) for user_id in (ADMIN_ID, MEMBER_ID)}
    counter = {"n": 0}

    def on_execute(*_args: object) -> None:
        counter["n"] += 1

    # No app context stays pushed around the requests: each request gets its own, as under
    # gunicorn, so neither the session's identity map nor `g` carries over between them.
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        for page in page_list:
            client = app.test_client()
            if not page.reference:  # the reference page is the sign-in form: nobody signed in
                with client.session_transaction() as session:
                    session["_user_id"] = tokens[ADMIN_ID if page.admin else MEMBER_ID]
                    session["_fresh"] = True
            client.get(page.path)  # warms caches that a long-running server has warm
            counter["n"] = 0
            answer = client.get(page.path)
            if answer.status_code != 200:
                raise RuntimeError(f"{page.path} answered {answer.status_code} in-process")
            queries.setdefault(page.name, {})[label] = counter["n"]
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                client.get(page.path)
                timings.append((time.perf_counter() - started) * 1000)
            alone_ms[page.name] = statistics.median(timings)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        engine.dispose()
        app.extensions["redis"].close()
