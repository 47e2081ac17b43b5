"""Under the Content-Security-Policy: injected script does not run; a refused live log reloads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import create_app
from app.extensions import db
from app.services.runs import create_run
from tests.support.accounts import make_user
from tests.support.journeys import sign_in
from tests.support.runs import DEMO, link_slots

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def config(config):
    # No live log is allowed, and no worker takes the run: it stays queued.
    config.update(SSE_MAX_PER_MEMBER=0, RUN_QUEUE="parked")
    return config


@pytest.fixture
def queued_run(config, portal) -> int:
    app = create_app(config)
    with app.app_context():
        user = make_user("ana@hospital.org", "Ana Silva")  # its address confirmed
        run_id = create_run(user, slots=link_slots(), demo_url=DEMO).id
        db.session.remove()
        db.engine.dispose()
    app.extensions["redis"].close()
    return run_id


def test_script_injected_into_a_page_is_refused(page, portal, queued_run):
    page.goto(portal.url + "/account/signin")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.appendChild(script);
                const link = document.createElement("a");
                link.setAttribute("onclick", "window.clicked = true");
                document.body.appendChild(link);
                link.click();
            }"""
        )
    assert page.evaluate("() => [window.injected, window.clicked]") == [None, None]
    page.console_errors.clear()  # the refusals above were provoked on purpose


def test_a_refused_live_log_says_so_and_the_page_reloads_itself(page, portal, queued_run):
    sign_in(page, portal, "ana@hospital.org")
    page.goto(f"{portal.url}/runs/{queued_run}")
    note = page.locator("#log-connection")
    expect(note).to_contain_text("Live updates are not available right now")
    with page.expect_navigation(timeout=25_000):
        pass  # the page reloads itself
    expect(page.locator("#run-status-badge")).to_have_text("Queued")
