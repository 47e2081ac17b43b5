"""Browser tests: a live portal, Debian's chromium, screenshots as artifacts, axe checks."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.support.app import TEST_DATABASE_URL, WORKER_LIMITS, close_redis_clients
from tests.support.engine import missing
from tests.support.portal import LivePortal
from tests.support.smtp import MailServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REFUSED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (never downloaded: Debian's package)."""
    if not shutil.which(CHROMIUM):
        missing(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def portal(config, tmp_path, mail_server: MailServer) -> Iterator[LivePortal]:
    """Benchgate served by gunicorn with a worker, on this test's database and Redis."""
    config.update(WORKER_LIMITS, MAIL_URL=mail_server.url)
    app = create_app(config)
    with app.app_context():
        if not TEST_DATABASE_URL:
            db.create_all()
        db.engine.dispose()
    close_redis_clients(app)
    live = LivePortal(config, tmp_path).start()
    live.mail = mail_server
    yield live
    live.stop()


@pytest.fixture
def page(browser, request):
    """A fresh browser page; a screenshot of where it ended is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # A Content-Security-Policy violation, a script error or a failed load shows here.
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.console_errors = errors  # a test that provokes an error on purpose takes it out
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        shoot(page, f"FAILED-{request.node.name}")
    context.close()
    # Pages answered 4xx on purpose (a refused page, a form with errors) are not errors here.
    unexpected = [e for e in errors if not REFUSED_LOAD.match(e)]
    assert unexpected == [], "the browser's console reported errors"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shoot(page, name: str) -> Path:
    """Keep a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page) -> list[str]:
    """Run axe on the page; return its serious and critical violations, described."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found
