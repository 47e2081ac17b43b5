"""The administrators' activity page: the whole audit trail, newest first, by kind of record."""

from __future__ import annotations

from html import unescape

from app.models import BenchmarkStatus
from app.services.accounts import set_active, set_admin
from app.services.audit import activity_page
from app.services.containers import make_operational
from app.services.join_requests import ask_to_join, decide_join_request
from app.settings import reconfigure
from tests.support.accounts import signed_in
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.containers import make_container
from tests.support.joins import finish
from tests.support.records import statements
from tests.support.web import post_form


def test_every_kind_of_record_shows_with_who_did_what_and_why(app, admin, member):
    trio = make_trio(member)
    benchmark = record_benchmark(member, trio, "Chest CT", BenchmarkStatus.APPROVED)
    model = make_container(admin, "Ada model")
    request = finish(ask_to_join(benchmark, model, admin))
    decide_join_request(request, False, member, "Trained on the test data.")
    set_admin(member, True, by=admin)
    set_active(member, False, by=admin)

    page = unescape(signed_in(app, admin).get("/admin/activity").text)
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    # Newest first: the account changes, then the rejection, then the request and its test.
    assert "Deactivated" in rows[0] and "member@example.org" in rows[0]
    assert "Made an administrator" in rows[1] and "Ada Admin" in rows[1]
    assert "Rejected" in rows[2] and "Trained on the test data." in rows[2]
    assert f'href="/benchmarks/join-requests/{request.id}/decide">Ada model' in rows[2]
    assert any("Test passed" in row and "Benchgate" in row for row in rows)
    assert any("Asked to join" in row for row in rows)


def test_the_filter_shows_one_kind_and_pages_go_on_without_a_count(app, admin, member):
    reconfigure(app, PAGE_SIZE=1)  # two rows a page
    for number in range(3):
        make_operational(make_container(member, f"Container {number}"), by=member)
    set_admin(member, True, by=admin)
    client = signed_in(app, admin)
    first = client.get("/admin/activity?kind=container").text
    assert "Container 2" in first and "Container 1" in first and "Container 0" not in first
    assert "Made an administrator" not in first
    assert "Page 1" in first and 'rel="next"' in first
    second = client.get("/admin/activity?kind=container&page=2").text
    assert "Container 0" in second and 'rel="next"' not in second
    # An unknown kind shows everything rather than nothing.
    assert "Made an administrator" in client.get("/admin/activity?kind=nonsense").text


def test_the_trail_is_read_in_one_statement_whatever_the_kinds(app, admin, member):
    make_operational(make_container(member, "One"), by=member)
    set_admin(member, True, by=admin)
    with statements() as sent:
        page = activity_page(None, per_page=10)
    assert len(sent) == 1
    assert {row.subject_type for row in page.items} >= {"container", "user"}
    assert [row.subject_name for row in page.items][:1] == ["member@example.org"]


def test_members_cannot_see_the_activity(app, member):
    assert signed_in(app, member).get("/admin/activity").status_code == 403


def test_making_an_admin_through_the_page_leaves_a_trace(app, admin, member):
    client = signed_in(app, admin)
    post_form(client, f"/admin/users/{member.id}/admin", {"value": "1"}, page="/admin/users")
    page = client.get("/admin/activity?kind=user").text
    assert "Made an administrator" in page and "member@example.org" in page
