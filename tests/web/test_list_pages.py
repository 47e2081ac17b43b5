"""The list pages as a reader meets them: pages past the end, uncounted lists, searches,
and what each page costs the database."""

from __future__ import annotations

from html import unescape

from flask import g
from sqlalchemy import select

from app.extensions import csrf, db
from app.models import BenchmarkStatus, User
from app.services.notifications import notify
from app.settings import reconfigure
from tests.support.accounts import signed_in
from tests.support.app import own_app
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.containers import make_container, names_listed
from tests.support.records import statements
from tests.support.runs import start_run
from tests.support.web import page_text


def test_a_page_past_the_end_shows_the_last_page(member_client, member, app):
    reconfigure(app, PAGE_SIZE=2)
    for number in range(3):
        make_container(member, f"Model {number}")
    for far in ("9", "99999999999999"):
        body = page_text(member_client.get(f"/containers/?page={far}"))
        assert names_listed(body) == ["Model 2"]
        assert "Page 2 of 2" in body and "3 containers" in body
    assert names_listed(page_text(member_client.get("/containers/?page=-3"))) == [
        "Model 0",
        "Model 1",
    ]


def test_all_runs_are_paged_without_a_total_newest_first(admin_client, member, app):
    reconfigure(app, PAGE_SIZE=2)
    oldest, middle, newest = (start_run(member) for _ in range(3))
    first = admin_client.get("/runs/?all=1").get_data(as_text=True)
    assert f'/runs/{newest.id}"' in first and f'/runs/{middle.id}"' in first
    assert f'/runs/{oldest.id}"' not in first
    # Counting every run on every view would grow with the portal: no "of N" here.
    assert "Page 1</span>" in first and "Page 1 of" not in first
    assert 'href="/runs/?page=2&all=1" rel="next"' in unescape(first)
    second = admin_client.get("/runs/?all=1&page=2").get_data(as_text=True)
    assert f'/runs/{oldest.id}"' in second and f'/runs/{newest.id}"' not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
    # Past the end, an uncounted list cannot tell where its last page is: it starts again.
    far = admin_client.get("/runs/?all=1&page=7").get_data(as_text=True)
    assert f'/runs/{newest.id}"' in far and "Page 1</span>" in far


def test_searches_take_percent_and_underscore_as_plain_letters(member_client, member, app):
    for name in ("lung_ct", "lungXct", "lung%ct"):
        make_container(member, name)
    assert names_listed(page_text(member_client.get("/containers/?q=lung_ct"))) == ["lung_ct"]
    assert names_listed(page_text(member_client.get("/containers/?q=g%25c"))) == ["lung%ct"]
    trio = make_trio(member)
    for name in ("Knee_MRI", "KneeXMRI"):
        record_benchmark(member, trio, name, BenchmarkStatus.APPROVED)
    found = member_client.get("/benchmarks/?q=e_m").get_data(as_text=True)
    assert "Knee_MRI" in found and "KneeXMRI" not in found


def test_the_header_count_comes_with_the_account_in_one_query(app, member):
    notify(member, "Your benchmark was approved.")
    notify(member, "A model asks to join.")
    db.session.commit()
    client = signed_in(app, member)
    with statements() as sent:
        body = client.get("/").get_data(as_text=True)
    assert "Notifications (2)" in body
    assert len(sent) == 1, sent  # the home page reads nothing else


def test_list_pages_cost_one_query_besides_the_account(app, member, admin):
    trio = make_trio(member)
    record_benchmark(member, trio, "Chest CT", BenchmarkStatus.APPROVED)
    record_benchmark(member, trio, "Brain MRI", BenchmarkStatus.PENDING_APPROVAL)
    start_run(member, trio)
    member_browser, admin_browser = signed_in(app, member), signed_in(app, admin)
    pages = [
        (member_browser, "/containers/"),
        (member_browser, "/containers/?role=model&q=chest&mine=y"),
        (member_browser, "/benchmarks/"),
        (member_browser, "/benchmarks/mine"),
        (member_browser, "/runs/"),
        (admin_browser, "/runs/?all=1"),
        (admin_browser, "/admin/review/"),
    ]
    for browser, path in pages:
        g.pop("_login_user", None)  # the test's app context outlives requests; a server's not
        with statements() as sent:
            assert browser.get(path).status_code == 200
        assert len(sent) == 2, (path, sent)


@csrf.exempt
def _add_then_fail_to_commit():
    db.session.add(User(email="ghost@example.org", display_name="Ghost", password_hash="x"))
    db.session.flush()  # sent, never committed by the view
    return "added"


def test_a_get_reads_in_autocommit_and_a_post_keeps_its_transaction(app, config):
    with own_app(config) as extra:
        extra.add_url_rule("/_add", view_func=_add_then_fail_to_commit, methods=["GET", "POST"])
        web = extra.test_client()
        assert web.post("/_add").status_code == 200
        assert ghost() is None  # a POST's transaction ends with the request, rolled back
        assert web.get("/_add").status_code == 200
        assert ghost() is not None  # a GET has no transaction: each statement commits


def ghost() -> User | None:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.email == "ghost@example.org"))
    db.session.rollback()  # do not hold a transaction open over the next request
    return found
