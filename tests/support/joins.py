"""Join requests for tests: an owner's approved benchmark, a member's model, the worker's part,
the audit trail and the owner's decision."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BenchmarkStatus, JoinRequest, RunStatus
from app.services.join_requests import ask_to_join
from app.services.runs import finish_run, mark_running
from tests.support.accounts import make_user
from tests.support.benchmarks import RESULTS, make_trio, record_benchmark
from tests.support.containers import make_container
from tests.support.web import post_form

MODEL_RESULTS = {"auc": 0.87, "per_class": {"normal": 0.9, "pneumonia": 0.84}}


def finish(request: JoinRequest, status: RunStatus = RunStatus.PASSED) -> JoinRequest:
    """Play the worker: run the request's test and end it with this outcome."""
    assert mark_running(request.run_id, "test-worker")
    if status == RunStatus.PASSED:
        finish_run(request.run_id, status, results=MODEL_RESULTS)
    else:
        finish_run(request.run_id, status, failure_summary="The infer step exited with code 2.")
    db.session.expire_all()
    return request


def join_actions(request: JoinRequest) -> list[tuple[str, int | None, str | None]]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == "joinrequest", AuditEvent.subject_id == request.id)
        .order_by(AuditEvent.id)
    )
    return [(e.action, e.actor_id, e.reason) for e in events]


def decide(client, request: JoinRequest, button: str, reason: str = ""):
    return post_form(
        client,
        f"/benchmarks/join-requests/{request.id}/decide",
        {button: button.capitalize(), "reason": reason},
        page=f"/benchmarks/{request.benchmark_id}",
    )


@pytest.fixture
def owner(app):
    return make_user("olga@example.org", "Olga Owner")


@pytest.fixture
def benchmark(owner):
    """An approved benchmark of the owner, with its reference model's results."""
    benchmark = record_benchmark(owner, make_trio(owner), "Chest 2025", BenchmarkStatus.APPROVED)
    benchmark.results = RESULTS
    benchmark.demo_sha256 = "cd" * 32
    db.session.commit()
    return benchmark


@pytest.fixture
def model(member):
    return make_container(member, "Mia DenseNet")


@pytest.fixture
def pending(member, benchmark, model):
    return finish(ask_to_join(benchmark, model, member))
