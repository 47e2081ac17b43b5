"""A join allow-list's emails show in the history to the owner and administrators only."""

from html import unescape

import pytest

from app.services.join_policy import set_join_policy
from tests.support.accounts import make_user, signed_in

LISTED = ["ana@hospital.example.org", "ben@clinic.example.org", "cy@lab.example.org"]


@pytest.fixture
def listed(owner, benchmark):
    set_join_policy(benchmark, "list", "\n".join(LISTED), owner)
    return benchmark


def history_of(browser, benchmark) -> str:
    response = browser.get(f"/benchmarks/{benchmark.id}")
    assert response.status_code == 200
    body = unescape(response.get_data(as_text=True))
    return body.split('class="timeline"', 1)[1]


def test_a_member_reads_how_many_emails_are_listed_not_which(app, member, listed):
    history = history_of(signed_in(app, member), listed)
    assert "listed emails (3)" in history
    assert not any(email in history for email in LISTED)


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_the_owner_and_administrators_read_the_emails(app, owner, member, listed, who):
    # A member's view first: what was rendered for members must not be served to insiders.
    history_of(signed_in(app, member), listed)
    insider = owner if who == "owner" else make_user("ada@x.org", "Ada", admin=True)
    history = history_of(signed_in(app, insider), listed)
    assert all(email in history for email in LISTED)
    assert "listed emails (3)" not in history


def test_an_insiders_view_is_not_served_to_a_member_afterwards(app, owner, member, listed):
    history_of(signed_in(app, owner), listed)
    history = history_of(signed_in(app, member), listed)
    assert not any(email in history for email in LISTED)


def test_other_policies_read_the_same_for_everyone(app, owner, member, benchmark):
    set_join_policy(benchmark, "always", "", owner)
    assert "always" in history_of(signed_in(app, member), benchmark).split("</ol>")[0]
