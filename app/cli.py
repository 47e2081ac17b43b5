"""Command-line tools: `flask users ...`, `flask worker`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import queue_names
from app.runs.cli import compat_test_command
from app.services.accounts import create_admin, has_admin

users = AppGroup("users", help="Manage accounts.")


@users.command("create-admin")
@click.argument("email")
@click.option("--password", help="Password to set; one is generated and printed when omitted.")
def create_admin_command(email: str, password: str | None) -> None:
    """Create an administrator account, or give an existing account the admin flag."""
    user, secret = create_admin(email, password)
    if secret and not password:
        click.echo(f"Administrator {user.email} created. Password (shown once): {secret}")
    elif secret:
        click.echo(f"Administrator {user.email} created.")
    else:
        click.echo(f"{user.email} already had an account; it is now an administrator.")


@users.command("ensure-admin")
@click.option("--email", default="admin@benchgate.local", show_default=True)
def ensure_admin_command(email: str) -> None:
    """Create a first administrator when there is none, printing its credentials once."""
    if has_admin():
        click.echo("An administrator account already exists.")
        return
    user, secret = create_admin(email)
    click.echo("")
    click.echo("  First administrator created. Write these down, they are shown only once:")
    click.echo(f"    email:    {user.email}")
    click.echo(f"    password: {secret}")
    click.echo("")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queues", default=None, help="Comma-separated queue names (default: RQ_QUEUES).")
@click.option("--name", default=None, help="Worker name (default: host and process id).")
def worker_command(burst: bool, queues: str | None, name: str | None) -> None:
    """Run an RQ worker inside the application context."""
    from workers.worker import run_worker  # the web process never needs the worker code

    names = queue_names(queues or current_app.config["RQ_QUEUES"])
    run_worker(names, burst=burst, name=name)


runs = AppGroup("runs", help="Look after compatibility-test runs.")


@runs.command("reap")
def reap_command() -> None:
    """End runs whose worker died, re-send lost jobs, remove leftover containers."""
    from app.services.reaper import housekeeping

    report = housekeeping()
    click.echo(
        f"{report['reaped']} run(s) ended as lost, {report['dispatched'] + report['redispatched']}"
        f" run(s) sent to the queue, {report['containers_removed']} container(s) removed."
    )


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(users)
    app.cli.add_command(runs)
    app.cli.add_command(worker_command)
    app.cli.add_command(compat_test_command)
