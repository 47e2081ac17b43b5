"""Runs whose images the registry policy refuses, and containers removed under a run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import yaml

from app.extensions import db
from app.jobs.tasks import run_compatibility_test
from app.models import Container, ContainerState, Role, Run, RunStatus, StepStatus
from app.services.runs import create_run, slot_from_container, slot_from_links
from app.settings import reconfigure
from tests.support.banner_server import BannerServer
from tests.support.compat import containers_of, fresh_run, sleeping_run, step_running
from tests.support.processes import run_burst_worker, start_worker, stop_worker
from tests.support.services import wait_until
from tests.support.trio import TRIO_DIR, serve_trio

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def banner() -> Iterator[BannerServer]:
    with BannerServer() as server:
        yield server


def _model_with_image(image: str) -> str:
    config = yaml.safe_load((TRIO_DIR / "model.yaml").read_text())
    config["image"] = image
    return yaml.safe_dump(config)


def _slots(links: dict[str, str], model: dict) -> dict:
    return {
        "data_preparator": slot_from_links(links["prep"], parameters_url=links["prep_params"]),
        "model": model,
        "evaluator": slot_from_links(links["evaluator"]),
    }


def _assert_refused_without_contact(run: Run, banner: BannerServer, image: str) -> None:
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "image_refused"
    assert f"comes from the registry 127.0.0.1:{banner.port}" in run.failure_summary
    assert "images must come from Docker Hub." in run.failure_summary
    statuses = {s.name: s.status for s in run.steps}
    assert statuses["fetch"] == StepStatus.FAILED
    assert statuses["prepare"] == StepStatus.SKIPPED
    assert "reg-secret-banner" not in (run.log_text or "")
    assert banner.connections == 0


def test_a_stored_container_from_a_registry_no_longer_allowed_is_refused_by_the_worker(
    app, member, assets, test_images, config, banner
):
    image = f"127.0.0.1:{banner.port}/x:1"
    links = serve_trio(assets)
    # Recorded directly: registration refuses it, but a policy may narrow after registering.
    model = Container(
        owner_id=member.id,
        name="Old model",
        name_key="old model",
        role=Role.MODEL,
        image=image,
        config_url=links["model"],
        config_sha256="1" * 64,
        config_text=_model_with_image(image),
        state=ContainerState.DEVELOPMENT,
    )
    db.session.add(model)
    db.session.commit()
    run = create_run(
        member, slots=_slots(links, slot_from_container(model)), demo_url=links["demo"]
    )
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_refused_without_contact(fresh_run(run.id), banner, image)


def test_an_ad_hoc_configuration_from_a_loopback_registry_is_refused_before_any_pull(
    app, member, assets, test_images, banner
):
    reconfigure(app, IMAGE_PULL_POLICY="if-not-present")  # would pull if the check let it
    image = f"2130706433:{banner.port}/x:1"
    links = serve_trio(assets, model=_model_with_image(image).encode())
    run = create_run(
        member, slots=_slots(links, slot_from_links(links["model"])), demo_url=links["demo"]
    )
    run_compatibility_test(run.id)
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    _assert_refused_without_contact(run, banner, image)


def test_a_locally_built_image_fails_the_run_unless_the_operator_allows_local_images(
    app, member, assets, test_images, config
):
    config["ALLOWED_REGISTRIES"] = "docker.io"  # IMAGE_PULL_POLICY is "never" here
    links = serve_trio(assets)
    run = create_run(
        member, slots=_slots(links, slot_from_links(links["model"])), demo_url=links["demo"]
    )
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    run = fresh_run(run.id)
    assert run.status == RunStatus.FAILED
    assert run.failure_cause == "image_refused"
    assert "made or renamed here rather than downloaded from its registry" in run.failure_summary
    assert test_images["prep"] in run.failure_summary  # the first image the worker checked


@pytest.mark.timeout(180)
def test_a_container_removed_by_someone_else_ends_the_run_with_that_cause(
    app, member, assets, test_images, config, tmp_path
):
    run = sleeping_run(member, assets)
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        assert wait_until(lambda: step_running(run.id, "infer"), timeout=60)
        assert wait_until(lambda: len(containers_of(run.id)) == 1, timeout=10)
        container_id = containers_of(run.id)[0].id
        subprocess.run(["docker", "rm", "-f", container_id], check=True, timeout=30)
        assert wait_until(lambda: fresh_run(run.id).status == RunStatus.ERROR, timeout=30), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
    finally:
        stop_worker(worker)
    run = fresh_run(run.id)
    assert run.failure_cause == "container_removed"
    assert "removed by something else on the worker" in run.failure_summary
    infer = next(s for s in run.steps if s.name == "infer")
    assert infer.status == StepStatus.FAILED
    assert "internal error" not in (infer.message or "")
    assert "removed by something else" in (infer.message or "")
    assert "internal error" not in (tmp_path / "worker.log").read_text()
