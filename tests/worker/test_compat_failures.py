"""Each way a container can fail makes its step fail with the cause named, and the rest skipped."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.jobs.tasks import run_compatibility_test
from app.models import Run, RunStatus, StepStatus
from app.services.runs import create_run, slot_from_links
from app.settings import reconfigure
from tests.support import variants
from tests.support.trio import serve_trio

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _short_time_limit(app):
    reconfigure(app, CONTAINER_TIMEOUT_SECONDS=3.0)


def _run_with(member, assets, **overrides: bytes) -> Run:
    """Serve the trio with some files replaced, run the test in this process, reload the run."""
    links = serve_trio(assets, **overrides)
    slots = {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": slot_from_links(links["model"]),
        "evaluator": slot_from_links(links["evaluator"]),
    }
    run = create_run(member, slots=slots, demo_url=links["demo"])
    run_compatibility_test(run.id)
    db.session.expire_all()
    return db.session.get(Run, run.id)


def _statuses(run: Run) -> dict[str, StepStatus]:
    return {step.name: step.status for step in run.steps}


def test_task_exiting_3_fails_infer_naming_the_code(app, member, assets, test_images):
    run = _run_with(member, assets, model=variants.model_config(variants.EXIT_3))
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "exit_code"
    assert "exited with code 3" in run.failure_summary
    assert "infer: giving up" in run.failure_log_tail
    steps = _statuses(run)
    assert steps["prepare"] == steps["statistics"] == StepStatus.PASSED
    assert steps["infer"] == StepStatus.FAILED
    assert steps["evaluate"] == StepStatus.SKIPPED
    infer = next(s for s in run.steps if s.name == "infer")
    assert infer.exit_code == 3


def test_task_over_its_time_limit_is_stopped(app, member, assets, test_images):
    run = _run_with(member, assets, model=variants.model_config(variants.SLEEPS))
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "time_limit"
    assert "time limit of 3 s" in run.failure_summary


def test_task_over_its_memory_limit_is_reported_out_of_memory(app, member, assets, test_images):
    reconfigure(app, CONTAINER_MEMORY_BYTES=64 * 2**20, CONTAINER_TIMEOUT_SECONDS=60.0)
    run = _run_with(member, assets, model=variants.model_config(variants.EATS_MEMORY))
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "out_of_memory"
    assert "ran out of memory (limit 64 MiB)" in run.failure_summary


def test_evaluator_writing_no_results_fails_evaluate(app, member, assets, test_images):
    run = _run_with(member, assets, evaluator=variants.evaluator_config(variants.NO_RESULTS))
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "no_output"
    assert "wrote no results" in run.failure_summary
    assert _statuses(run)["evaluate"] == StepStatus.FAILED


def test_container_trying_the_network_fails(app, member, assets, test_images):
    run = _run_with(member, assets, model=variants.model_config(variants.TRIES_NETWORK))
    assert run.status == RunStatus.FAILED
    assert "exited with code 4" in run.failure_summary
    assert "infer: no network" in run.failure_log_tail


def test_container_writing_to_an_input_mount_fails(app, member, assets, test_images):
    run = _run_with(member, assets, model=variants.model_config(variants.WRITES_INPUT))
    assert run.status == RunStatus.FAILED
    assert "exited with code 5" in run.failure_summary
    assert "infer: input is read-only" in run.failure_log_tail


def test_broken_demo_archive_fails_fetch_with_the_problem(app, member, assets, test_images):
    run = _run_with(member, assets, demo=b"this is not a tar archive")
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "bad_archive"
    assert "demo dataset archive was refused" in run.failure_summary
    assert _statuses(run)["prepare"] == StepStatus.SKIPPED


def test_model_config_given_as_evaluator_fails_fetch(app, member, assets, test_images):
    from tests.support.trio import TRIO_DIR

    run = _run_with(member, assets, evaluator=(TRIO_DIR / "model.yaml").read_bytes())
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "bad_config"
    assert "is a model" in run.failure_summary
