"""Cancel, worker loss and digest pinning, with a real long-running worker process."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from app.extensions import db
from app.models import Container, ContainerState, Role, RunStatus, StepStatus
from app.services.runs import cancel_run, create_run, slot_from_container, slot_from_links
from tests.support.compat import containers_of, fresh_run, sleeping_run, step_running
from tests.support.processes import (
    PROJECT_ROOT,
    flask_command,
    run_burst_worker,
    start_worker,
    stop_worker,
    worker_env,
)
from tests.support.services import wait_until
from tests.support.trio import TRIO_DIR, serve_trio

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_cancel_during_a_step_kills_the_container_within_seconds(
    app, member, assets, test_images, config, tmp_path
):
    run = sleeping_run(member, assets)
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        assert wait_until(lambda: step_running(run.id, "infer"), timeout=60), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
        assert wait_until(lambda: len(containers_of(run.id)) == 1, timeout=10)
        cancel_run(fresh_run(run.id), member)
        assert wait_until(lambda: fresh_run(run.id).status == RunStatus.CANCELED, timeout=15)
        assert wait_until(lambda: containers_of(run.id) == [], timeout=5)
    finally:
        stop_worker(worker)
    run = fresh_run(run.id)
    assert run.failure_cause == "canceled"
    statuses = {s.name: s.status for s in run.steps}
    assert statuses["evaluate"] == StepStatus.SKIPPED
    assert "infer: started" in run.log_text


def test_killed_worker_ends_the_run_as_error_and_leaves_no_container(
    app, member, assets, test_images, config, tmp_path
):
    run = sleeping_run(member, assets)
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        assert wait_until(lambda: step_running(run.id, "infer"), timeout=60)
        assert wait_until(lambda: len(containers_of(run.id)) == 1, timeout=10)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work horse, no cleanup
        worker.wait(timeout=10)
    finally:
        stop_worker(worker)
    assert fresh_run(run.id).status == RunStatus.RUNNING  # nobody has noticed yet
    reap = subprocess.run(
        flask_command("runs", "reap"),
        cwd=PROJECT_ROOT,
        env=worker_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reap.returncode == 0, reap.stderr
    assert "1 run(s) ended as lost" in reap.stdout
    run = fresh_run(run.id)
    assert run.status == RunStatus.ERROR
    assert run.failure_cause == "worker_lost"
    assert "stopped unexpectedly" in run.failure_summary
    assert containers_of(run.id) == []


def test_changed_digest_of_an_operational_container_fails_naming_both(
    app, member, assets, test_images, config
):
    links = serve_trio(assets)
    pinned = "sha256:" + "0" * 64
    model = Container(
        owner_id=member.id,
        name="Pinned model",
        name_key="pinned model",
        role=Role.MODEL,
        image=test_images["model"],
        config_url=links["model"],
        config_sha256="1" * 64,
        config_text=(TRIO_DIR / "model.yaml").read_text(),
        image_digest=pinned,
        state=ContainerState.OPERATIONAL,
    )
    db.session.add(model)
    db.session.commit()
    slots = {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": slot_from_container(model),
        "evaluator": slot_from_links(links["evaluator"]),
    }
    run = create_run(member, slots=slots, demo_url=links["demo"])
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    run = fresh_run(run.id)
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "digest_mismatch"
    assert pinned in run.failure_summary
    assert run.digests["model"] in run.failure_summary
    assert run.digests["model"] != pinned
