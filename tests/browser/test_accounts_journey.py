"""A newcomer signs up, signs out and back in; an administrator reaches the admin pages."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import serious_violations, shoot
from tests.support.smtp import link_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery"


def sign_up(page, portal, name: str, email: str) -> None:
    page.goto(portal.url + "/account/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()


def mailed_link(portal, email: str, path: str, count: int = 1, timeout: float = 30) -> str:
    """Wait for the portal's worker to mail `email` its `count`-th message; return its link."""
    deadline = time.monotonic() + timeout
    while len(portal.mail.to(email)) < count:
        assert time.monotonic() < deadline, f"no message {count} to {email}"
        time.sleep(0.2)
    return portal.url + link_in(portal.mail.to(email)[count - 1], path)


def confirm_email(page, portal, email: str) -> None:
    """Open the confirmation link the portal mailed after sign-up, as its member does."""
    page.goto(mailed_link(portal, email, "/account/verify/"))
    expect(page.get_by_text(re.compile(f"{re.escape(email)} is confirmed"))).to_be_visible()


def sign_in(page, portal, email: str, password: str = PASSWORD) -> None:
    page.goto(portal.url + "/account/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_sign_up_sign_out_sign_in_and_admin_area(page, portal):
    page.goto(portal.url + "/")
    shoot(page, "01-home-anonymous")
    assert serious_violations(page) == []

    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Please enter your name.")).to_be_visible()
    shoot(page, "02-signup-errors")

    sign_up(page, portal, "Ana Silva", "ana@hospital.org")
    expect(page.get_by_text("Welcome, Ana Silva!")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Ana Silva")).to_be_visible()
    shoot(page, "03-home-member")
    assert serious_violations(page) == []
    page.get_by_role("link", name=re.compile("Your account")).click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    page.get_by_role("button", name="Change my password").click()
    expect(page.get_by_text("Please enter your present password.")).to_be_visible()
    shoot(page, "03a-account")
    assert serious_violations(page) == []

    page.goto(portal.url + "/admin/users")
    expect(page.get_by_role("heading", name="You are not allowed to see this page")).to_be_visible()

    sign_out(page)
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    shoot(page, "04-signin")
    assert serious_violations(page) == []

    sign_in(page, portal, "ana@hospital.org", "wrong password!")
    expect(page.get_by_text("The email or the password is wrong.")).to_be_visible()

    import subprocess

    from tests.worker.helpers import PROJECT_ROOT, flask_command, worker_env

    created = subprocess.run(
        flask_command("users", "create-admin", "boss@hospital.org", "--password", PASSWORD),
        cwd=PROJECT_ROOT,
        env=worker_env(portal.config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    sign_in(page, portal, "boss@hospital.org")
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("cell", name="ana@hospital.org")).to_be_visible()
    shoot(page, "05-admin-accounts")
    page.get_by_role("row", name=re.compile("ana@hospital.org")).get_by_role(
        "button", name="Make admin"
    ).click()
    page.get_by_role("link", name="Activity").click()
    made = page.get_by_role("row", name=re.compile("Made an administrator.*ana@hospital.org"))
    expect(made).to_contain_text("boss")
    shoot(page, "05a-admin-activity")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Health").click()
    expect(page.get_by_text("Database: reachable")).to_be_visible()
    shoot(page, "06-admin-health")
