"""Email journeys in a real browser: confirm the address before submitting; a forgotten password."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import serious_violations, shoot
from tests.support.containers import prep_links
from tests.support.journeys import PASSWORD, mailed_link, sign_in, sign_out, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_PASSWORD = "a brand new long password"


def test_a_newcomer_confirms_the_address_then_registers_a_container(page, portal, assets):
    sign_up(page, portal, "Nia Nowak", "nia@clinic.org")
    banner = page.locator(".verify-banner")
    expect(banner).to_contain_text("Confirm your email address")
    shoot(page, "40-unconfirmed-home")
    assert serious_violations(page) == []

    links = prep_links(assets)
    page.goto(portal.url + "/containers/register")
    page.locator("#name").fill(links["name"])
    page.locator("#config_url").fill(links["config_url"])
    page.locator("#parameters_url").fill(links["parameters_url"])
    page.get_by_role("button", name="Check and register").click()
    expect(page.get_by_text(re.compile("Confirm your email address first")).first).to_be_visible()
    expect(page.locator("#config_url")).to_have_value(links["config_url"])  # nothing lost
    shoot(page, "41-unconfirmed-refused")

    page.goto(mailed_link(portal, "nia@clinic.org", "/account/verify/"))
    expect(page.get_by_text("nia@clinic.org is confirmed")).to_be_visible()
    expect(page.locator(".verify-banner")).to_have_count(0)
    page.goto(portal.url + "/containers/register")
    page.locator("#name").fill(links["name"])
    page.locator("#config_url").fill(links["config_url"])
    page.locator("#parameters_url").fill(links["parameters_url"])
    page.get_by_role("button", name="Check and register").click()
    expect(page.get_by_role("heading", name=links["name"])).to_be_visible()
    shoot(page, "42-confirmed-registered")


def test_a_member_who_forgot_the_password_chooses_a_new_one_by_email(page, portal):
    sign_up(page, portal, "Olu Ade", "olu@clinic.org")
    sign_out(page)
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("olu@clinic.org")
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shoot(page, "43-forgot-sent")
    assert serious_violations(page) == []

    # Message 1 confirms the address (sent at sign-up); message 2 is the reset link.
    page.goto(mailed_link(portal, "olu@clinic.org", "/account/reset/", count=2))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    shoot(page, "44-reset-form")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_text(re.compile("Your new password is saved"))).to_be_visible()

    sign_in(page, portal, "olu@clinic.org", PASSWORD)
    expect(page.get_by_text("The email or the password is wrong.")).to_be_visible()
    sign_in(page, portal, "olu@clinic.org", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Olu Ade")).to_be_visible()
