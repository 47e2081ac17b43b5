"""Kept lists (services/page_cache): served again while nothing changed, never after a change,
and the same for every reader except their own "(you)"."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from flask import g
from sqlalchemy import create_engine, delete, text, update

from app import _sqlalchemy_url
from app.database import utcnow
from app.extensions import db
from app.models import BenchmarkStatus, Container, DataVersion, RunStatus
from app.services import page_cache
from app.settings import reconfigure
from tests.support.accounts import make_user, signed_in
from tests.support.app import own_app
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.containers import make_container, names_listed
from tests.support.records import statements
from tests.support.runs import start_run
from tests.support.web import page_text

YOU = '<span class="muted">(you)</span>'


def view(client, path: str) -> tuple[str, int]:
    """Open path as client's member; return the page and how many SQL statements it sent."""
    g.pop("_login_user", None)  # the test's app context outlives requests; a server's does not
    with statements() as sent:
        answer = client.get(path)
    assert answer.status_code == 200, path
    return page_text(answer), len(sent)


def owner_cells(body: str) -> dict[str, str]:
    """Map each container name of the catalogue to what its owner cell says."""
    rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr")[1:]
    cells = {}
    for row in rows:
        name = re.search(r'/containers/\d+">([^<]+)</a>', row)[1]
        cells[name] = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[3]
    return cells


def table(body: str) -> str:
    """The page's table, without the messages around it."""
    return body[body.index("<table") : body.index("</table>")]


def test_a_list_seen_again_unchanged_reads_only_the_account(app, member):
    make_container(member, "Chest model")
    client = signed_in(app, member)
    first, first_cost = view(client, "/containers/")
    again, again_cost = view(client, "/containers/")
    assert names_listed(again) == ["Chest model"]
    assert table(again) == table(first)
    assert (first_cost, again_cost) == (2, 1)


def test_a_change_made_by_another_process_shows_on_the_next_view(app, member, config):
    make_container(member, "Added here")
    client = signed_in(app, member)
    view(client, "/containers/")
    assert view(client, "/containers/")[1] == 1  # kept
    # Another app, with engine and cache of its own: a worker or a second web process.
    with own_app(config) as other, other.app_context():
        make_container(member, "Added elsewhere")
        db.session.remove()
    body, cost = view(client, "/containers/")
    assert names_listed(body) == ["Added elsewhere", "Added here"]
    assert cost == 2


def test_each_reader_sees_you_on_their_own_rows_only(app, member):
    other = make_user("olga@example.org", "Olga Other")
    make_container(member, "Mia's model")
    make_container(other, "Olga's model")
    mia, olga = signed_in(app, member), signed_in(app, other)
    for_mia, _ = view(mia, "/containers/")
    for_olga, olga_cost = view(olga, "/containers/")
    assert olga_cost == 1  # Mia's rendering, served to Olga
    assert owner_cells(for_mia) == {
        "Mia's model": f"Mia Member {YOU}",
        "Olga's model": "Olga Other",
    }
    assert owner_cells(for_olga) == {
        "Mia's model": "Mia Member",
        "Olga's model": f"Olga Other {YOU}",
    }
    assert "<!--viewer:" not in for_mia + for_olga


def test_a_list_with_a_run_under_way_is_kept_and_its_clock_still_moves(app, member, monkeypatch):
    run = start_run(member)
    client = signed_in(app, member)
    view(client, "/runs/")
    assert view(client, "/runs/")[1] == 1  # queued: nothing on the page moves by itself
    started = utcnow()
    run.status, run.started_at = RunStatus.RUNNING, started
    db.session.commit()
    monkeypatch.setattr(page_cache, "utcnow", lambda: started + timedelta(seconds=65))
    first, first_cost = view(client, "/runs/")
    monkeypatch.setattr(page_cache, "utcnow", lambda: started + timedelta(seconds=130))
    again, again_cost = view(client, "/runs/")
    assert (first_cost, again_cost) == (2, 1)  # kept: its duration is filled in when served
    assert "1 min 05 s" in first and "2 min 10 s" in again
    assert "<!--since:" not in first + again


def test_a_bulk_update_moves_the_version_on(app, member):
    make_container(member, "Old name")
    client = signed_in(app, member)
    view(client, "/containers/")
    db.session.execute(update(Container).values(name="New name"))
    db.session.commit()
    assert names_listed(view(client, "/containers/")[0]) == ["New name"]


def test_a_change_made_outside_the_portal_shows_once_the_list_expires(app, member, config):
    reconfigure(app, PAGE_CACHE_SECONDS=0.5)
    from app.services.page_cache import init_page_cache

    init_page_cache(app)
    make_container(member, "Before psql")
    client = signed_in(app, member)
    view(client, "/containers/")
    engine = create_engine(_sqlalchemy_url(config["DATABASE_URL"]))
    with engine.begin() as conn:
        conn.execute(text("UPDATE containers SET name = 'After psql'"))
    engine.dispose()
    assert names_listed(view(client, "/containers/")[0]) == ["Before psql"]  # nobody said
    time.sleep(0.6)
    assert names_listed(view(client, "/containers/")[0]) == ["After psql"]


def test_without_its_row_nothing_is_kept_until_a_change_puts_it_back(app, member):
    make_container(member, "First")
    db.session.execute(delete(DataVersion))
    db.session.commit()  # a change: it puts the row back at once
    assert db.session.get(DataVersion, 1) is not None
    engine = db.engine
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM data_version"))
    client = signed_in(app, member)
    costs = [view(client, "/containers/")[1] for _ in range(2)]
    assert costs == [2, 2]
    make_container(member, "Second")
    body, _ = view(client, "/containers/")
    assert names_listed(body) == ["First", "Second"]
    assert view(client, "/containers/")[1] == 1


def test_no_list_is_kept_when_the_cache_is_switched_off(app, member):
    reconfigure(app, PAGE_CACHE_CHARS=0)
    from app.services.page_cache import init_page_cache

    init_page_cache(app)
    make_container(member, "Chest model")
    client = signed_in(app, member)
    assert [view(client, "/containers/")[1] for _ in range(2)] == [2, 2]


def test_a_benchmark_page_keeps_its_evidence_for_insiders_and_for_the_others(app, member, admin):
    trio = make_trio(member)
    benchmark = record_benchmark(member, trio, "Chest CT", BenchmarkStatus.APPROVED)
    benchmark.run_id = start_run(member, trio).id
    db.session.commit()
    reader = make_user("rita@example.org", "Rita Reader")
    path = f"/benchmarks/{benchmark.id}"
    as_admin, first_cost = view(signed_in(app, admin), path)
    as_owner, owner_cost = view(signed_in(app, member), path)
    as_reader, reader_cost = view(signed_in(app, reader), path)
    test_link = f'href="/runs/{benchmark.run_id}"'
    assert test_link in as_admin and test_link in as_owner and test_link not in as_reader
    for body in (as_admin, as_owner, as_reader):
        assert "Chest prep" in body and "History" in body
    # The owner gets what the administrator's view kept; the reader's evidence is another one.
    assert owner_cost < first_cost
    # Seen again, the page reads only the account: who may see it is kept with the parts.
    assert view(signed_in(app, reader), path)[1] == 1 < reader_cost
    # A change of status is seen on the next view: a revoked benchmark is gone for readers.
    benchmark.status = BenchmarkStatus.REJECTED
    db.session.commit()
    for who, status in ((reader, 404), (member, 200)):
        g.pop("_login_user", None)
        assert signed_in(app, who).get(path).status_code == status
