"""Notifications: the list, opening one, marking all read, and the unread count in the nav."""

import re
from datetime import timedelta

from app.extensions import db
from app.models import Notification, utcnow
from app.services.notifications import notify, unread_count
from tests.support.accounts import make_user
from tests.support.web import post_form

NAV_LINK = re.compile(r'<a class="notifications-link[^"]*" href="/notifications/"[^>]*>([^<]*)</a>')


def nav_count(client) -> str:
    """The text of the notifications link in the page header."""
    match = NAV_LINK.search(client.get("/").get_data(as_text=True))
    assert match, "no notifications link in the navigation"
    return match.group(1)


def add(user, message: str, url: str | None = "/benchmarks/", *, minutes_ago: int = 0):
    note = notify(user, message, url)
    note.created_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return note


def test_the_navigation_shows_the_unread_count_with_an_accessible_label(member_client, member):
    assert nav_count(member_client) == "Notifications (0)"
    add(member, "First")
    add(member, "Second")
    add(make_user("olga@example.org", "Olga"), "Not for Mia")
    assert nav_count(member_client) == "Notifications (2)"
    assert 'aria-label="Notifications: 2 unread"' in member_client.get("/").get_data(as_text=True)


def test_the_list_shows_newest_first_and_highlights_unread(member_client, member):
    old = add(member, "Older news", minutes_ago=10)
    add(member, "Fresh news")
    old.read_at = utcnow()
    db.session.commit()
    body = member_client.get("/notifications/").get_data(as_text=True)
    assert body.index("Fresh news") < body.index("Older news")
    items = re.findall(r'<li class="notification( unread)?">', body)
    assert items == [" unread", ""]


def test_opening_one_marks_it_read_and_follows_its_link(member_client, member):
    note = add(member, "Your benchmark passed", "/benchmarks/7")
    response = member_client.get(f"/notifications/{note.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/benchmarks/7"
    db.session.refresh(note)
    assert note.read_at is not None
    assert unread_count(member) == 0


def test_a_stored_link_to_another_site_is_not_followed(member_client, member):
    note = add(member, "Odd", "https://evil.example/")
    response = member_client.get(f"/notifications/{note.id}")
    assert response.headers["Location"] == "/notifications/"


def test_another_members_notification_gives_404_and_stays_unread(member_client):
    other = make_user("olga@example.org", "Olga")
    note = add(other, "Private")
    assert member_client.get(f"/notifications/{note.id}").status_code == 404
    db.session.refresh(note)
    assert note.read_at is None


def test_mark_all_read_clears_only_my_count(member_client, member):
    other = make_user("olga@example.org", "Olga")
    add(member, "One")
    add(member, "Two")
    add(other, "Hers")
    response = post_form(member_client, "/notifications/read-all", {}, page="/notifications/")
    assert response.status_code == 302
    assert unread_count(member) == 0 and unread_count(other) == 1
    assert nav_count(member_client) == "Notifications (0)"


def test_mark_all_read_without_a_csrf_token_is_refused(member_client, member):
    add(member, "One")
    assert member_client.post("/notifications/read-all").status_code == 400
    assert unread_count(member) == 1
    assert db.session.query(Notification).filter(Notification.read_at.isnot(None)).count() == 0
