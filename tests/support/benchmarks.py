"""Benchmarks for tests: records, the submission form, finishing a test run as the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    Benchmark,
    BenchmarkStatus,
    Role,
    RunStatus,
    utcnow,
)
from app.services.runs import finish_run, mark_running
from tests.support.containers import make_container
from tests.support.web import post_form

NEW = "/benchmarks/new"
UID = "ab" * 32
DEMO_HASH = "cd" * 32
RESULTS = {"auc": 0.91, "per_class": {"normal": 0.93, "pneumonia": 0.89}}


def make_trio(owner, prefix: str = "Chest", *, operational: bool = False):
    """A data preparator, a model and an evaluator owned by owner."""
    return tuple(
        make_container(owner, f"{prefix} {word}", role, operational=operational)
        for word, role in (
            ("prep", Role.DATA_PREPARATOR),
            ("model", Role.MODEL),
            ("evaluator", Role.EVALUATOR),
        )
    )


def form_data(trio, demo_url: str, **overrides: Any) -> dict[str, Any]:
    """Submission form data for a benchmark of these three containers."""
    prep, model, evaluator = trio
    data = {
        "name": "Chest X-ray pneumonia 2025",
        "description": "Detects pneumonia on chest X-rays.",
        "docs_url": "https://docs.example.org/chest",
        "demo_url": demo_url,
        "demo_sha256": "",
        "prep_id": str(prep.id),
        "model_id": str(model.id),
        "evaluator_id": str(evaluator.id),
        "make_operational": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def submit(client, data: dict, **kwargs):
    """Submit the benchmark form as a browser does."""
    return post_form(client, NEW, data, **kwargs)


def serve_demo(assets) -> str:
    """Serve a stand-in demo archive (the web side only checks that the link answers)."""
    return assets.add_bytes("/demo/demo_data.tar.gz", b"not really a tar archive")


def only_benchmark() -> Benchmark:
    return db.session.scalars(select(Benchmark)).one()


def finish_test(benchmark: Benchmark, status: RunStatus = RunStatus.PASSED, **fields) -> None:
    """Play the worker: start the benchmark's current run and end it with this outcome."""
    run_id = benchmark.run_id
    assert mark_running(run_id, "test-worker")
    if status == RunStatus.PASSED:
        fields = {
            "results": RESULTS,
            "statistics": {"cases": 4, "labels": {"normal": 2, "pneumonia": 2}},
            "prepared_data_uid": UID,
            "hashes": {"demo": DEMO_HASH, "data_preparator.config": "ef" * 32},
            "digests": {"data_preparator": "sha256:" + "12" * 32},
            **fields,
        }
    else:
        fields = {"failure_summary": "The prepare step exited with code 3.", **fields}
    finish_run(run_id, status, **fields)
    db.session.expire_all()


def record_benchmark(
    owner, trio, name: str, status: BenchmarkStatus, *, submitted_at=None
) -> Benchmark:
    """Record a benchmark in any status directly, without a test run."""
    prep, model, evaluator = trio
    benchmark = Benchmark(
        owner_id=owner.id,
        name=name,
        name_key=name.lower(),
        description=f"About {name}.",
        demo_url="https://files.example.org/demo.tar.gz",
        prep_id=prep.id,
        model_id=model.id,
        evaluator_id=evaluator.id,
        status=status,
        submitted_at=submitted_at or utcnow(),
    )
    db.session.add(benchmark)
    db.session.commit()
    return benchmark


def actions(benchmark: Benchmark) -> list[tuple[str, int | None, str | None]]:
    """The benchmark's audit trail as (action, actor id, reason), oldest first."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == "benchmark", AuditEvent.subject_id == benchmark.id)
        .order_by(AuditEvent.id)
    )
    return [(e.action, e.actor_id, e.reason) for e in events]
