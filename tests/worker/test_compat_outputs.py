"""Hostile outputs of real containers: links, FIFOs, sparse giants; refused, never followed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.jobs.tasks import run_compatibility_test
from app.models import Run, RunStatus, StepStatus
from app.services.runs import cancel_run, create_run, slot_from_links
from tests.support import hostile
from tests.support.compat import fresh_run
from tests.support.processes import run_burst_worker, start_worker, stop_worker
from tests.support.services import wait_until
from tests.support.trio import serve_trio

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _create(member, assets, **overrides: bytes) -> Run:
    links = serve_trio(assets, **overrides)
    slots = {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": slot_from_links(links["model"]),
        "evaluator": slot_from_links(links["evaluator"]),
    }
    return create_run(member, slots=slots, demo_url=links["demo"])


def _run_here(member, assets, **overrides: bytes) -> tuple[Run, float]:
    """Run the test in this process; return the finished run and how long it took."""
    run = _create(member, assets, **overrides)
    started = time.monotonic()
    run_compatibility_test(run.id)
    return fresh_run(run.id), time.monotonic() - started


def _step(run: Run, name: str):
    return next(step for step in run.steps if step.name == name)


def test_symlink_to_a_host_folder_fails_prepare_and_leaves_the_host_alone(
    app, member, assets, test_images, tmp_path
):
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text("root:x:0:0\n")
    owner = host.stat().st_uid
    prep = hostile.prep_config(
        f"ln -s {host} /mlcube_io3/case9 && ln -s {host}/passwd /mlcube_io3/a"
    )
    run, _ = _run_here(member, assets, prep=prep)
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "bad_output"
    assert run.failure_summary == (
        "prepared data: a is a symbolic link; outputs may hold only regular files and folders."
    )
    assert _step(run, "prepare").status == StepStatus.FAILED
    assert _step(run, "sanity_check").status == StepStatus.SKIPPED
    assert run.prepared_data_uid is None
    # Neither chowned, nor removed with the run's folder, which is gone.
    assert (host / "passwd").read_text() == "root:x:0:0\n"
    assert host.stat().st_uid == owner and (host / "passwd").stat().st_uid == owner
    assert not (Path(app.config["WORK_DIR"]) / "runs" / f"run-{run.id}").exists()


def test_link_to_etc_shadow_names_the_path_and_never_shows_its_content(
    app, member, assets, test_images
):
    run, _ = _run_here(member, assets, prep=hostile.prep_config(hostile.SHADOW_LINK))
    assert run.status == RunStatus.FAILED
    assert "prepared data: case9.txt is a symbolic link" in run.failure_summary
    shadow = Path("/etc/shadow").read_text() if os.geteuid() == 0 else "root:"
    first_hash = shadow.split(":")[1] if ":" in shadow else ""
    assert not first_hash or first_hash not in (run.log_text or "")


def test_fifo_in_prepared_labels_fails_at_once_through_a_real_worker(
    app, member, assets, test_images, config
):
    run = _create(member, assets, prep=hostile.prep_config(hostile.FIFO_IN_LABELS))
    started = time.monotonic()
    result = run_burst_worker(config, timeout=90)  # a blocked open would hang here
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 60
    run = fresh_run(run.id)
    assert run.status == RunStatus.FAILED
    assert "prepared labels: pipe.txt is a named pipe (FIFO)" in run.failure_summary


def test_sparse_terabyte_in_prepared_data_is_refused_without_reading_it(
    app, member, assets, test_images
):
    run, seconds = _run_here(member, assets, prep=hostile.prep_config(hostile.SPARSE_TERABYTE))
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "output_too_large"
    assert "prepared data: big.bin takes the output over 50 GiB" in run.failure_summary
    assert seconds < 60  # hashing a terabyte of zeros would take far longer


def test_link_to_the_root_in_predictions_fails_infer(app, member, assets, test_images):
    run, _ = _run_here(member, assets, model=hostile.model_config(hostile.ROOT_LINK_IN_PREDICTIONS))
    assert run.status == RunStatus.FAILED
    assert "predictions: root is a symbolic link" in run.failure_summary
    assert _step(run, "infer").status == StepStatus.FAILED
    assert _step(run, "evaluate").status == StepStatus.SKIPPED


def test_results_link_in_evaluator_local_outputs_fails_evaluate(app, member, assets, test_images):
    evaluator = hostile.evaluator_config(hostile.RESULTS_LINK_IN_LOCAL_OUTPUTS)
    run, _ = _run_here(member, assets, evaluator=evaluator)
    assert run.status == RunStatus.FAILED
    assert "evaluator local outputs: results.yaml is a symbolic link" in run.failure_summary
    assert run.results is None


def test_sparse_results_file_is_refused_by_its_size(app, member, assets, test_images):
    evaluator = hostile.evaluator_config(hostile.SPARSE_RESULTS)
    run, seconds = _run_here(member, assets, evaluator=evaluator)
    assert run.status == RunStatus.FAILED
    assert "results: results.yaml is 1024 GiB, more than the 16 MiB" in run.failure_summary
    assert seconds < 60


def test_cancel_while_hashing_a_huge_output_ends_the_run_canceled(
    app, member, assets, test_images, config, tmp_path
):
    config["MAX_OUTPUT_BYTES"] = 2 << 40  # let the terabyte through, to hash for ages
    run = _create(member, assets, prep=hostile.prep_config(hostile.SPARSE_TERABYTE))
    log_file = Path(config["WORK_DIR"]) / "runs" / f"run-{run.id}.log"
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        hashing = "[prepare] [benchgate] Checking and hashing the prepared data"
        assert wait_until(
            lambda: log_file.exists() and hashing in log_file.read_text(), timeout=90
        ), (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(1)  # well into the terabyte
        assert fresh_run(run.id).status == RunStatus.RUNNING
        cancel_run(fresh_run(run.id), member)
        asked = time.monotonic()
        assert wait_until(lambda: fresh_run(run.id).status == RunStatus.CANCELED, timeout=20)
        assert time.monotonic() - asked < 20
    finally:
        stop_worker(worker)
    run = fresh_run(run.id)
    assert run.failure_cause == "canceled"
    assert "canceled while Benchgate was checking and hashing the prepared data" in (
        run.failure_summary
    )
    assert _step(run, "sanity_check").status == StepStatus.SKIPPED
