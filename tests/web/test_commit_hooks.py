"""After-commit actions: they run once the transaction commits, never when it rolls back."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutgoingMail, Run, RunKind
from app.services import run_outcomes
from app.services import runs as runs_service
from app.services.commit_hooks import after_commit, pending_actions
from app.services.mail import queue_mail
from app.services.queue import get_queue
from app.services.runs import add_run, dispatch_pending, queue_run
from tests.support.runs import DEMO, link_slots


@pytest.fixture
def writing(app):
    """A POST request's context: GET pages read in autocommit mode, where nothing rolls back."""
    db.session.commit()  # end any transaction begun under the test's GET context
    with app.test_request_context(method="POST"):
        yield


def test_an_action_waits_for_the_commit(app):
    done = []
    after_commit(done.append, "sent")
    db.session.flush()
    assert done == [] and pending_actions() == 1
    db.session.commit()
    assert done == ["sent"] and pending_actions() == 0


def test_actions_run_in_the_order_they_were_asked_for(app):
    done = []
    for word in ("first", "second", "third"):
        after_commit(done.append, word)
    db.session.commit()
    assert done == ["first", "second", "third"]


def test_a_rollback_drops_the_actions(writing):
    done = []
    after_commit(done.append, "never")
    db.session.rollback()
    db.session.commit()
    assert done == [] and pending_actions() == 0


def test_a_session_closed_without_a_commit_drops_the_actions(writing):
    done = []
    db.session.execute(select(1))  # a transaction under way
    after_commit(done.append, "never")
    db.session.remove()
    db.session.commit()
    assert done == []


def test_a_savepoint_rolled_back_drops_only_what_was_asked_for_inside_it(writing):
    done = []
    after_commit(done.append, "outer")
    savepoint = db.session.begin_nested()
    after_commit(done.append, "inner")
    savepoint.rollback()
    kept = db.session.begin_nested()
    after_commit(done.append, "kept")
    kept.commit()
    assert done == []  # a savepoint's commit is not the transaction's
    db.session.commit()
    assert done == ["outer", "kept"]


def test_a_failing_action_is_logged_and_the_next_ones_still_run(app, member, caplog):
    done = []

    def broken() -> None:
        raise RuntimeError("the action broke")

    after_commit(broken)
    after_commit(done.append, "after")
    member.display_name = "Mia Renamed"
    with caplog.at_level(logging.ERROR, logger="app.services.commit_hooks"):
        db.session.commit()
    assert done == ["after"]
    assert "the action broke" in caplog.text
    db.session.expire_all()
    assert member.display_name == "Mia Renamed"  # the commit stands


# With the real queue.


def test_a_run_is_queued_only_once_its_transaction_commits(member):
    run = add_run(member, slots=link_slots(), demo_url=DEMO)
    assert run.id is not None and get_queue().get_job_ids() == []
    db.session.commit()
    assert get_queue().get_job_ids() == [f"run-{run.id}"]
    db.session.expire_all()
    assert run.dispatched


def test_a_run_is_queued_once_when_housekeeping_races_its_commit(member):
    """The gap the claim closes: housekeeping (dispatch_pending, in a worker) and the
    request's own after-commit hook both try to queue the run just committed."""
    run = add_run(member, slots=link_slots(), demo_url=DEMO)
    db.session.commit()  # the hook queues it and claims it
    assert queue_run(run.id) is False  # what housekeeping's late try now finds
    assert dispatch_pending() == 0
    assert get_queue().get_job_ids() == [f"run-{run.id}"]
    assert get_queue().count == 1


def test_a_run_that_redis_refused_is_given_back_for_housekeeping(member, monkeypatch):
    def refused(*args, **kwargs):
        raise RedisError("connection refused")

    monkeypatch.setattr(runs_service, "enqueue", refused)
    run = add_run(member, slots=link_slots(), demo_url=DEMO)
    db.session.commit()
    db.session.expire_all()
    assert not run.dispatched  # the claim was given back
    monkeypatch.undo()
    assert dispatch_pending() == 1
    db.session.expire_all()
    assert run.dispatched and get_queue().get_job_ids() == [f"run-{run.id}"]


def test_a_run_whose_transaction_rolls_back_is_never_queued(member, writing):
    add_run(member, slots=link_slots(), demo_url=DEMO)
    db.session.rollback()
    db.session.commit()
    assert get_queue().get_job_ids() == []
    assert db.session.scalar(select(func.count(Run.id))) == 0


def test_a_mail_whose_transaction_rolls_back_is_never_queued(writing):
    queue_mail("ana@example.org", "Hello", "Body", "test")
    db.session.rollback()
    mail = queue_mail("ana@example.org", "Hello again", "Body", "test")
    db.session.commit()
    assert get_queue().get_job_ids() == [f"mail-{mail.id}"]
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 1


# The registry of run outcomes.


def test_the_factory_registers_a_handler_for_every_kind_of_run(app):
    assert {kind: run_outcomes.handler_for(kind) is not None for kind in RunKind} == {
        kind: True for kind in RunKind
    }


def test_a_kind_without_a_handler_is_refused_loudly(app, monkeypatch):
    monkeypatch.setattr(run_outcomes, "_handlers", {})
    with pytest.raises(LookupError, match="benchmark"):
        run_outcomes.handler_for(RunKind.BENCHMARK)


def test_a_second_handler_for_a_kind_is_refused(app, monkeypatch):
    monkeypatch.setattr(run_outcomes, "_handlers", {})
    settled = []

    def handler(run: Run) -> None:
        settled.append(run)

    run_outcomes.register(RunKind.BENCHMARK, handler)
    run_outcomes.register(RunKind.BENCHMARK, handler)  # the same one again: no change
    with pytest.raises(ValueError, match="already"):
        run_outcomes.register(RunKind.BENCHMARK, run_outcomes.nothing_to_settle)
    run = Run(kind=RunKind.BENCHMARK)
    run_outcomes.settle(run)
    assert settled == [run]
