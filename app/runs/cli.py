"""`flask compat-test`: start a compatibility test from a terminal and follow it to its end."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import Any, NoReturn

import click
import yaml
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from sqlalchemy import select

from app import web_needed
from app.extensions import db
from app.models import Container, Role, Run, RunStatus, User
from app.runs.display import format_duration
from app.runs.links import SHA256_RE, is_http_url
from app.runs.stream import stream_client
from app.services.errors import Refusal
from app.services.queue import live_workers
from app.services.run_events import read_events
from app.services.runs import create_run, slot_from_container, slot_from_links
from app.services.users import find_user_by_email
from workers.log_lines import format_item
from workers.safe_text import clean_data, clean_text

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
NO_WORKER_WARNING_SECONDS = 10.0  # a queued run with no worker for this long gets a warning
POLL_MS = 1000


class CommandError(click.ClickException):
    """A problem with the command line itself; exits with status 2."""

    exit_code = EXIT_ERROR


def resolve_slot(value: str, label: str, params: str | None, files: str | None) -> dict[str, Any]:
    """Read --prep/--model/--evaluator: a registered container's id, or a configuration link."""
    value = value.strip()
    if value.isdigit():
        container = db.session.get(Container, int(value))
        if container is None:
            raise CommandError(f"--{label}: there is no registered container #{value}.")
        if params or files:
            raise CommandError(
                f"--{label}-params and --{label}-files go with a configuration link; "
                f"container #{value} already has its own."
            )
        return slot_from_container(container)
    if not is_http_url(value):
        raise CommandError(
            f"--{label}: give a registered container's id (e.g. 12) or an http(s) link to its "
            "container_config.yaml."
        )
    for option, link in ((f"--{label}-params", params), (f"--{label}-files", files)):
        if link and not is_http_url(link):
            raise CommandError(f"{option}: give an http:// or https:// link.")
    return slot_from_links(value, parameters_url=params, additional_files_url=files)


def resolve_requester(email: str | None) -> User:
    """The account the run is recorded for: --as, or the first active administrator."""
    if email:
        user = find_user_by_email(email)
        if user is None or not user.active:
            raise CommandError(f"--as: no active account has the email {email}.")
        return user
    user = db.session.scalar(
        select(User).where(User.is_admin.is_(True), User.active.is_(True)).order_by(User.id)
    )
    if user is None:
        raise CommandError(
            "There is no active administrator to record the run for. Create one with "
            "`flask users create-admin EMAIL`, or name an account with --as EMAIL."
        )
    return user


def describe_event(kind: str, data: dict[str, Any]) -> str | None:
    """One line of terminal output for an event; None for events printed otherwise.

    Nothing a container wrote reaches the terminal raw: escape sequences could move the
    cursor, rewrite earlier lines or retitle the window.
    """
    if kind == "log":
        return "\n".join(format_item(item) for item in data.get("lines", []))
    if kind == "step":
        text = f"== step {data.get('name')}: {data.get('status')}"
        started, finished = data.get("started_at"), data.get("finished_at")
        if started and finished:
            seconds = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
            text += f" ({format_duration(seconds.total_seconds())})"
        if data.get("message"):
            text += f": {clean_text(str(data['message']))}"
        return text
    if kind == "status":
        return f"== run: {data.get('status')}"
    return None


def stored_status(run_id: int) -> RunStatus:
    """The run's status as the database holds it now."""
    db.session.expire_all()
    return db.session.scalar(select(Run.status).where(Run.id == run_id))


def follow(run_id: int, timeout: float | None) -> RunStatus | None:
    """Print the run's events until it ends; return its final status, or None on timeout."""
    redis = stream_client(current_app._get_current_object())
    after, started, warned, redis_warned = "0-0", time.monotonic(), False, False
    while True:
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed > timeout:
            return None
        try:
            events = read_events(redis, run_id, after, block_ms=POLL_MS, count=500)
        except RedisError as error:
            if not redis_warned:
                click.echo(f"Redis cannot be reached ({error}); still trying.", err=True)
                redis_warned = True
            time.sleep(POLL_MS / 1000)
            events = []
        for event_id, kind, data in events:
            after = event_id
            line = describe_event(kind, data)
            if line is not None:
                click.echo(line)
            if kind == "end":
                return RunStatus(data.get("status", "error"))
        if events:
            continue
        status = stored_status(run_id)
        if status.finished:
            return status  # its `end` never reached Redis, or has expired
        if status == RunStatus.QUEUED and not warned and elapsed > NO_WORKER_WARNING_SECONDS:
            try:
                idle = not live_workers()
            except RedisError:
                idle = False
            if idle:
                click.echo(
                    f"Run #{run_id} is still queued and no worker is running. Start one in "
                    "another terminal with `flask worker`; this command keeps waiting.",
                    err=True,
                )
                warned = True


@click.command("compat-test")
@click.option("--prep", required=True, help="Data preparator: container id or config link.")
@click.option("--model", required=True, help="Model: container id or config link.")
@click.option("--evaluator", required=True, help="Evaluator: container id or config link.")
@click.option("--demo", "demo_url", required=True, help="Link to the demo dataset (.tar.gz).")
@click.option("--demo-hash", default=None, help="Expected SHA-256 of the demo archive.")
@click.option("--prep-params", default=None, help="Parameters link of a --prep config link.")
@click.option("--prep-files", default=None, help="Additional-files link of a --prep link.")
@click.option("--model-params", default=None, help="Parameters link of a --model link.")
@click.option("--model-files", default=None, help="Additional-files link of a --model link.")
@click.option("--evaluator-params", default=None, help="Parameters link of an --evaluator link.")
@click.option("--evaluator-files", default=None, help="Additional-files link of an --evaluator.")
@click.option("--as", "as_email", default=None, help="Requester's email (default: first admin).")
@click.option("--timeout", type=float, default=None, help="Give up after SECONDS (exit 2).")
@with_appcontext
def compat_test_command(
    prep: str,
    model: str,
    evaluator: str,
    demo_url: str,
    demo_hash: str | None,
    prep_params: str | None,
    prep_files: str | None,
    model_params: str | None,
    model_files: str | None,
    evaluator_params: str | None,
    evaluator_files: str | None,
    as_email: str | None,
    timeout: float | None,
) -> None:
    """Run a compatibility test and print its log; exit 0 passed, 1 failed, 2 otherwise.

    A worker must be running (`flask worker`) for the test to start.
    """
    if not is_http_url(demo_url):
        raise CommandError("--demo: give an http:// or https:// link to the demo archive.")
    if demo_hash and not SHA256_RE.match(demo_hash.strip()):
        raise CommandError("--demo-hash: a SHA-256 is 64 characters, each 0-9 or a-f.")
    slots = {
        Role.DATA_PREPARATOR: resolve_slot(prep, "prep", prep_params, prep_files),
        Role.MODEL: resolve_slot(model, "model", model_params, model_files),
        Role.EVALUATOR: resolve_slot(evaluator, "evaluator", evaluator_params, evaluator_files),
    }
    requester = resolve_requester(as_email)
    try:
        run = create_run(requester, slots=slots, demo_url=demo_url, demo_sha256=demo_hash)
    except Refusal as error:
        raise CommandError(f"The run was refused: {error}") from error
    run_id = run.id
    click.echo(f"Run #{run_id} queued for {requester.email} (page: /runs/{run_id}).")
    if not run.dispatched:
        click.echo(
            "The queue (Redis) cannot be reached. The run is saved and starts when Redis is "
            "back; follow it on its page.",
            err=True,
        )
        leave(EXIT_ERROR)

    final = follow(run_id, timeout)
    if final is None:
        click.echo(f"Gave up after {timeout:g} s; run #{run_id} is still going.", err=True)
        leave(EXIT_ERROR)
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    click.echo(f"Run #{run_id} {final.value}.")
    if final == RunStatus.PASSED:
        click.echo("Results:")
        results = clean_data(run.results or {})
        click.echo(yaml.safe_dump(results, sort_keys=False, allow_unicode=True), nl=False)
        leave(EXIT_PASSED)
    if run.failure_summary:
        click.echo(clean_text(run.failure_summary))
    leave(EXIT_FAILED if final == RunStatus.FAILED else EXIT_ERROR)


def leave(code: int) -> NoReturn:
    """Exit with code; from the `flask compat-test` command line, without the teardown.

    Once the run has ended, everything is committed and printed: freeing the interpreter's
    hundreds of thousands of objects one by one would only keep the terminal waiting (about
    a twentieth of the command's CPU). Called another way (a test's CLI runner), it raises
    SystemExit as usual.
    """
    if web_needed(sys.argv):
        raise SystemExit(code)
    db.session.remove()
    db.engine.dispose()  # a database server sees its connections closed, not dropped
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a reader gone away; nothing more can be told
    os._exit(code)
