"""A newcomer signs up, signs out and back in; an administrator reaches the admin pages."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.support.browser import serious_violations, shoot
from tests.support.journeys import PASSWORD, sign_in, sign_out, sign_up
from tests.support.processes import PROJECT_ROOT, flask_command, worker_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
