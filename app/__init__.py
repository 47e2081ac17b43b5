"""Benchgate: the application factory."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import DEFAULT_SECRET_KEY, Config
from app.database import ping_idle_connections
from app.extensions import db
from app.passwords import weakness
from app.settings import init_settings, settings
from workers.registry_policy import RegistryPolicy
from workers.roles import Role

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the Flask application: config, extensions, run outcomes, blueprints, errors, CLI.

    web=False builds what `flask compat-test` uses and nothing more: the same settings and
    checks, the database, Redis and the queues, and that one command; no pages, sign-in,
    forms, page cache or other commands (see web_needed).
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, test_config)
    register_data(app)
    if not web:
        register_compat_test(app)
        return app
    register_extensions(app)
    register_run_outcomes()
    register_blueprints(app)
    register_templates(app)
    register_errors(app)
    register_security(app)
    register_commands(app)
    return app


# Commands that run with the app create_app(web=False) builds.
COMMANDS_WITHOUT_WEB = frozenset({"compat-test"})


def web_needed(argv: list[str]) -> bool:
    """Tell whether this process needs the whole app: False only for `flask compat-test ...`.

    The command is the one people time against `docker run`, and half of its start-up went
    into importing the portal's pages. Anything else (gunicorn, `flask run`, `flask shell`,
    other commands, options before the command's name) gets the whole app.
    """
    if len(argv) < 2 or argv[1] not in COMMANDS_WITHOUT_WEB:
        return True
    program = Path(argv[0])
    is_flask = program.name == "flask" or program.parts[-2:] == ("flask", "__main__.py")
    return not is_flask


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Load settings from Config and the environment, or from the test's dict."""
    app.config.from_mapping(Config.as_dict())
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'benchgate.sqlite'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["DATABASE_URL"])
    if not app.config["WORK_DIR"]:
        app.config["WORK_DIR"] = str(Path(app.instance_path) / "work")
    built = init_settings(app)
    production = not (app.debug or app.testing)
    secure = str(app.config["COOKIES_SECURE"]).lower()
    secure_cookies = production if secure == "auto" else secure in ("1", "true", "yes", "on")
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = secure_cookies
    # The session row decides; the cookie need not outlive it.
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=built.session_lifetime_days)
    hops = built.proxy_hops
    if hops > 0:
        # Behind a proxy, the client's address (what sign-in limits count by) and scheme are
        # those the proxies forward.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    # A mistyped registry list would otherwise show only when a form or a run first reads it.
    RegistryPolicy.from_setting(built.allowed_registries)
    # A cheap password hash is for tests only; a mistyped method fails here, not at sign-up.
    weak = weakness(built.password_hash_method)
    if weak and not app.testing:
        raise RuntimeError(
            f"Benchgate refuses to hash passwords with {weak} outside tests. Leave "
            "PASSWORD_HASH_METHOD unset (scrypt) or name a stronger method."
        )
    if production and app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise RuntimeError(
            "Benchgate refuses to start with the default SECRET_KEY. Set the SECRET_KEY "
            "environment variable to a long random value (for example the output of "
            "`python3 -c 'import secrets; print(secrets.token_hex(32))'`), "
            "or set FLASK_DEBUG=1 on a development machine."
        )


def _sqlalchemy_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres:// and postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def register_data(app: Flask) -> None:
    """Bind the database, Redis and the job queues to the app.

    Migrations come with the `flask db` commands (app.cli), loaded only when used.
    """
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, settings(app).db_ping_after_seconds)
    redis = Redis.from_url(settings(app).redis_url, socket_connect_timeout=2, socket_timeout=5)
    app.extensions["redis"] = redis
    names = {settings(app).run_queue, *settings(app).rq_queues}
    app.extensions["rq_queues"] = {
        name: Queue(name, connection=redis, serializer=JSONSerializer) for name in sorted(names)
    }


def register_extensions(app: Flask) -> None:
    """Bind sign-in, CSRF, the page cache, the throttle and the live logs' caps to the app."""
    from app.extensions import csrf, login_manager

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    from app.models import User
    from app.services.accounts import load_signed_in
    from app.services.page_cache import init_page_cache

    init_page_cache(app)

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        return load_signed_in(token)

    from app.services.throttle import init_throttle

    init_throttle(app)
    from app.runs.stream_slots import init_stream_slots

    init_stream_slots(app)


def register_run_outcomes() -> None:
    """Tell the run lifecycle which handler settles each kind of run (services.run_outcomes)."""
    from app.models import RunKind
    from app.services import run_outcomes
    from app.services.benchmark_outcomes import settle_benchmark_test
    from app.services.join_requests import settle_join_test

    run_outcomes.register(RunKind.WORKFLOW_TEST, run_outcomes.nothing_to_settle)
    run_outcomes.register(RunKind.BENCHMARK, settle_benchmark_test)
    run_outcomes.register(RunKind.JOIN_REQUEST, settle_join_test)


def register_blueprints(app: Flask) -> None:
    """Attach each area of the portal."""
    from app import (
        admin,
        api,
        auth,
        benchmarks,
        containers,
        joins,
        main,
        notifications,
        review,
        runs,
        tokens,
    )

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(containers.bp)
    app.register_blueprint(runs.views())
    app.register_blueprint(benchmarks.bp)
    app.register_blueprint(joins.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(tokens.bp)
    app.register_blueprint(api.bp)


def register_templates(app: Flask) -> None:
    """Publish the shared vocabulary to every template: `Role` names the container roles."""
    app.jinja_env.globals["Role"] = Role


def register_errors(app: Flask) -> None:
    """Render friendly pages for 400, 403, 404 and 500."""
    from app.errors import register

    register(app)


def register_security(app: Flask) -> None:
    """Add the security headers to every answer, the body cap's page and the NUL refusal."""
    from app.security import init_security

    init_security(app)


def register_commands(app: Flask) -> None:
    """Add the `flask users`, `flask worker`, `flask db` and other commands."""
    from app.cli import register

    register(app, migrations=str(PROJECT_ROOT / "migrations"))


def register_compat_test(app: Flask) -> None:
    """Add `flask compat-test` alone, for the app built without the portal's pages."""
    from app.runs.cli import compat_test_command

    app.cli.add_command(compat_test_command)
