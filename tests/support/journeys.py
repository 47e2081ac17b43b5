"""Steps of the browser journeys: signing up, confirming the address, signing in and out."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.support.accounts import PASSWORD
from tests.support.smtp import link_in

__all__ = ["PASSWORD", "confirm_email", "mailed_link", "sign_in", "sign_out", "sign_up"]


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
