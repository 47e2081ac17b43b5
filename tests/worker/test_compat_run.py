"""The compatibility test end to end: real RQ worker process, real Docker, real downloads."""

from __future__ import annotations

import hashlib

import pytest

from app.database import installation_site
from app.extensions import db
from app.models import Run, RunStatus, StepStatus
from app.services.run_events import read_events
from app.services.runs import create_run, slot_from_links
from tests.support.processes import run_burst_worker
from tests.support.trio import DEMO_CASES
from workers.run_labels import run_labels

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _trio_slots(trio: dict[str, str]) -> dict:
    return {
        "data_preparator": slot_from_links(trio["prep"], parameters_url=trio["prep_params"]),
        "model": slot_from_links(trio["model"]),
        "evaluator": slot_from_links(trio["evaluator"]),
    }


def expected_prepared_uid(cases: dict[str, tuple[int, str]]) -> str:
    """MedPerf's identity of the prepared demo data, worked out by hand for the toy preparator.

    It writes each case's value and label on a line of its own; the identity is the SHA-256 of
    the sorted hex SHA-256s of every prepared file, concatenated.
    """
    files = [f"{value}\n".encode() for value, _ in cases.values()]
    files += [f"{label}\n".encode() for _, label in cases.values()]
    hashes = sorted(hashlib.sha256(data).hexdigest() for data in files)
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


def _reload(run_id: int) -> Run:
    db.session.expire_all()
    return db.session.get(Run, run_id)


def test_passing_trio_through_a_real_worker_records_results_and_evidence(app, member, trio, config):
    run = create_run(member, slots=_trio_slots(trio), demo_url=trio["demo"])
    assert run.dispatched

    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]

    run = _reload(run.id)
    assert run.status == RunStatus.PASSED, (
        run.failure_summary,
        run.log_text,
        result.stderr[-4000:],
    )
    assert run.results == {"accuracy": 0.75, "cases": 4, "correct": 3}
    assert run.statistics == {"cases": 4, "positive": 2, "negative": 2, "mean_value": 61.25}
    assert run.prepared_data_uid == expected_prepared_uid(DEMO_CASES)
    assert set(run.digests) == {"data_preparator", "model", "evaluator"}
    assert all(d.startswith("sha256:") for d in run.digests.values())
    assert {
        "demo",
        "data_preparator.config",
        "data_preparator.parameters",
        "model.config",
        "evaluator.config",
    } <= set(run.hashes)
    assert [s.status for s in run.steps] == [StepStatus.PASSED] * 6
    assert all(s.duration_seconds is not None for s in run.steps)
    assert "evaluate: accuracy 0.7500 over 4 cases" in run.log_text
    assert "[prepare] [container] prepare: 4 cases" in run.log_text
    assert "[prepare] [benchgate] Running benchgate-test/" in run.log_text

    events = read_events(app.extensions["redis"], run.id, count=10_000)
    kinds = [kind for _, kind, _ in events]
    assert kinds[-1] == "end" and events[-1][2]["status"] == "passed"
    lines = [item["line"] for _, kind, data in events if kind == "log" for item in data["lines"]]
    assert "infer: predicted case1.txt" in lines
    import docker

    client = docker.from_env()
    leftovers = client.containers.list(
        all=True,
        sparse=True,
        filters={
            "label": [
                f"{k}={v}" for k, v in run_labels(installation_site(app.config), run.id).items()
            ]
        },
    )
    client.close()
    assert leftovers == []


def test_hash_mismatch_on_the_demo_fails_before_any_container(app, member, trio, config):
    wrong = "0" * 64
    run = create_run(member, slots=_trio_slots(trio), demo_url=trio["demo"], demo_sha256=wrong)
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    run = _reload(run.id)
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "hash_mismatch"
    assert wrong in run.failure_summary
    assert [s.status for s in run.steps] == [StepStatus.FAILED] + [StepStatus.SKIPPED] * 5
    assert "Running benchgate-test" not in run.log_text
    assert "[fetch] [benchgate] Downloading the demo" in run.log_text
