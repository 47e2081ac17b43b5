"""Each use case commits once, and its jobs are queued after that commit."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.database import PortalSession
from app.extensions import db
from app.models import (
    Benchmark,
    BenchmarkStatus,
    JoinRequest,
    JoinRequestStatus,
    OutgoingMail,
    Run,
    RunStatus,
    User,
)
from app.services import runs as run_services
from app.services.benchmarks import BenchmarkFields, resubmit, submit_benchmark, update_benchmark
from app.services.join_requests import ask_to_join
from app.services.queue import get_queue, redis_client
from app.services.run_events import cancel_key
from tests.support.accounts import make_user
from tests.support.api import call, make_token
from tests.support.benchmarks import finish_test, form_data, make_trio, record_benchmark, serve_demo
from tests.support.containers import make_container
from tests.support.runs import start_run
from tests.support.web import csrf_token


@pytest.fixture
def commits():
    """The commits of transactions (savepoints aside); clear it before the action measured."""
    counted: list[int] = []

    def count(session) -> None:
        if not session.in_nested_transaction():
            counted.append(1)

    event.listen(PortalSession, "after_commit", count)
    yield counted
    event.remove(PortalSession, "after_commit", count)


@pytest.fixture
def token(client, member):
    secret = make_token(member)
    call(client, "GET", "/runs", secret)  # the token's first use is noted in a commit of its own
    return secret


@pytest.fixture
def demo(assets):
    return serve_demo(assets)


def queued() -> list[str]:
    return get_queue().get_job_ids()


def fields_of(trio, demo: str, **overrides) -> BenchmarkFields:
    return BenchmarkFields.from_mapping(form_data(trio, demo, **overrides))


# Runs


def test_starting_a_run_commits_once_then_queues_it(member, commits):
    trio = make_trio(member)
    commits.clear()
    run = start_run(member, trio)
    assert len(commits) == 1
    assert queued() == [f"run-{run.id}"]
    assert run.dispatched


def test_the_api_starts_a_run_in_one_commit(client, member, token, commits):
    prep, model, evaluator = make_trio(member)
    body = {
        "data_preparator": {"container": prep.id},
        "model": {"container": model.id},
        "evaluator": {"container": evaluator.id},
        "demo_url": "https://files.example.org/demo.tar.gz",
    }
    commits.clear()
    answer = call(client, "POST", "/runs", token, json=body)
    assert answer.status_code == 201, answer.json
    assert len(commits) == 1
    assert queued() == [f"run-{answer.json['id']}"]


def test_canceling_a_queued_run_commits_once_and_takes_its_job_off_the_queue(member, commits):
    run = start_run(member, make_trio(member))
    commits.clear()
    run_services.cancel_run(run, member)
    assert len(commits) == 1
    assert run.status == RunStatus.CANCELED and run.cancel_requested
    assert queued() == []
    assert redis_client().get(cancel_key(run.id)) == b"1"


def test_the_api_cancels_a_run_in_one_commit(client, member, token, commits):
    run = start_run(member, make_trio(member))
    commits.clear()
    answer = call(client, "POST", f"/runs/{run.id}/cancel", token)
    assert answer.status_code == 200 and answer.json["status"] == "canceled"
    assert len(commits) == 1
    assert queued() == []


def test_a_rerun_commits_once_then_queues_it(client, member, token, commits):
    run = start_run(member, make_trio(member))
    run_services.cancel_run(run, member)
    commits.clear()
    again = run_services.rerun(run, member)
    assert len(commits) == 1 and queued() == [f"run-{again.id}"]
    commits.clear()
    answer = call(client, "POST", f"/runs/{run.id}/rerun", token)
    assert answer.status_code == 201 and len(commits) == 1
    assert queued() == [f"run-{again.id}", f"run-{answer.json['id']}"]


def test_ending_a_benchmark_test_commits_once_with_its_outcome(member, demo, commits):
    benchmark = submit_benchmark(member, fields_of(make_trio(member), demo))
    assert run_services.mark_running(benchmark.run_id, "test-worker")
    commits.clear()
    run_services.finish_run(benchmark.run_id, RunStatus.PASSED, results={"auc": 0.9})
    assert len(commits) == 1
    db.session.expire_all()
    assert benchmark.status == BenchmarkStatus.PENDING_APPROVAL


# Benchmarks


def test_submitting_a_benchmark_commits_it_with_its_run_once(member, demo, commits):
    trio = make_trio(member)
    commits.clear()
    benchmark = submit_benchmark(member, fields_of(trio, demo))
    assert len(commits) == 1
    run = db.session.get(Run, benchmark.run_id)
    assert run.benchmark_id == benchmark.id
    assert queued() == [f"run-{run.id}"]


def test_the_api_submits_a_benchmark_in_one_commit(client, member, token, demo, commits):
    prep, model, evaluator = make_trio(member)
    body = {
        "name": "Chest 2025",
        "description": "Detects pneumonia on chest X-rays.",
        "demo_url": demo,
        "prep_id": prep.id,
        "model_id": model.id,
        "evaluator_id": evaluator.id,
    }
    commits.clear()
    answer = call(client, "POST", "/benchmarks", token, json=body)
    assert answer.status_code == 201, answer.json
    assert len(commits) == 1
    assert queued() == [f"run-{answer.json['run_id']}"]


def test_an_edit_that_retests_commits_once_and_cancels_the_superseded_test(
    member, demo, assets, commits
):
    trio = make_trio(member)
    benchmark = submit_benchmark(member, fields_of(trio, demo))
    first = benchmark.run_id
    other = assets.add_bytes("/demo/other.tar.gz", b"other demo")
    commits.clear()
    update_benchmark(benchmark, fields_of(trio, other), by=member)
    assert len(commits) == 1
    assert benchmark.run_id != first
    assert db.session.get(Run, first).status == RunStatus.CANCELED
    assert benchmark.status == BenchmarkStatus.TESTING
    assert queued() == [f"run-{benchmark.run_id}"]


def test_a_retest_commits_once(client, member, token, demo, commits):
    benchmark = submit_benchmark(member, fields_of(make_trio(member), demo))
    finish_test(benchmark, RunStatus.FAILED)
    commits.clear()
    resubmit(benchmark, by=member)
    assert len(commits) == 1 and queued()[-1] == f"run-{benchmark.run_id}"
    finish_test(benchmark, RunStatus.FAILED)
    commits.clear()
    answer = call(client, "POST", f"/benchmarks/{benchmark.id}/retest", token)
    assert answer.status_code == 200, answer.json
    assert len(commits) == 1 and queued()[-1] == f"run-{answer.json['run_id']}"


def test_a_refused_edit_commits_nothing_and_queues_nothing(member, demo, commits):
    trio = make_trio(member)
    benchmark = submit_benchmark(member, fields_of(trio, demo))
    jobs = queued()
    commits.clear()
    with pytest.raises(Exception, match="could not use this link"):
        update_benchmark(benchmark, fields_of(trio, "ftp://nowhere/demo.tar.gz"), by=member)
    assert commits == [] and queued() == jobs


# Join requests


@pytest.fixture
def approved(app):
    owner = make_user("olga@example.org", "Olga Owner")
    return record_benchmark(owner, make_trio(owner, "Olga"), "Chest", BenchmarkStatus.APPROVED)


def test_asking_to_join_commits_the_request_with_its_run_once(member, approved, commits):
    model = make_container(member, "Mia DenseNet")
    commits.clear()
    request = ask_to_join(approved, model, member)
    assert len(commits) == 1
    assert request.status == JoinRequestStatus.TESTING
    assert queued() == [f"run-{request.run_id}"]


def test_the_api_asks_to_join_in_one_commit(client, member, token, approved, commits):
    model = make_container(member, "Mia DenseNet")
    commits.clear()
    path = f"/benchmarks/{approved.id}/join-requests"
    answer = call(client, "POST", path, token, json={"model_id": model.id})
    assert answer.status_code == 201, answer.json
    assert len(commits) == 1
    request = db.session.scalar(select(JoinRequest))
    assert queued() == [f"run-{request.run_id}"]


# Accounts


def test_signing_up_commits_the_account_its_session_and_its_mail_once(client, commits):
    token = csrf_token(client, "/account/signup")
    form = {
        "csrf_token": token,
        "email": "new@example.org",
        "display_name": "New Member",
        "password": "a long enough password",
        "confirm": "a long enough password",
    }
    commits.clear()
    answer = client.post("/account/signup", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    assert len(commits) == 1
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    mail = db.session.scalar(select(OutgoingMail).where(OutgoingMail.to_address == user.email))
    assert mail.kind == "verify_email" and mail.dispatched
    assert f"mail-{mail.id}" in queued()
    assert client.get("/account/").status_code == 200  # signed in by that one commit


def test_no_benchmark_is_left_behind_by_a_refused_submission(member):
    with pytest.raises(Exception, match="could not use this link"):
        submit_benchmark(member, fields_of(make_trio(member), "ftp://nowhere/demo.tar.gz"))
    assert db.session.scalar(select(Benchmark)) is None and queued() == []
