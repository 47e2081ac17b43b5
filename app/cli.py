"""Command-line tools: `flask users ...`, `flask worker`, `flask db ...` (loaded on use)."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.runs.cli import compat_test_command
from app.services.accounts import create_admin, has_admin
from app.settings import queue_names, settings

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
    from app.jobs.worker import run_worker  # the web process never needs the worker code

    names = queue_names(queues) if queues else settings().rq_queues
    run_worker(list(names), burst=burst, name=name)


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


class MigrationCommands(click.Group):
    """`flask db ...`: Flask-Migrate's commands, imported only when one of them is asked for.

    Flask-Migrate imports Alembic, about a sixth of the start-up of every other command
    (`flask compat-test`, `flask worker`) that never uses it.
    """

    def __init__(self, directory: str) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).")
        self.directory = directory

    def _commands(self) -> click.Group:
        from flask_migrate import Migrate
        from flask_migrate.cli import db as commands

        from app.extensions import db

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if "migrate" not in app.extensions:  # migrations/env.py reads it
            Migrate(app, db, directory=self.directory)
        return commands

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        # The real group parses the line and runs: its own options, then the subcommand.
        return self._commands().make_context(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._commands().get_command(ctx, name)


def register(app: Flask, migrations: str) -> None:
    """Attach the commands to the app's CLI; migrations is the Alembic scripts' folder."""
    app.cli.add_command(MigrationCommands(migrations))
    app.cli.add_command(users)
    app.cli.add_command(runs)
    app.cli.add_command(worker_command)
    app.cli.add_command(compat_test_command)
