"""The real Docker engine in tests: a client, the test images, labelled runs, a runner.

Without an engine (or busybox to build the images) these tests skip on a developer's machine,
and fail under CI (CI set in the environment), where a skipped Docker test would hide that the
compatibility test was never run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from tests.support.docker_images import build_test_images, find_static_busybox
from workers.docker_runner import DockerRunner, RunnerSettings, TaskRun
from workers.registry_policy import RegistryPolicy

TEST_LABEL = "benchgate.test"
LOCAL_IMAGES = RegistryPolicy(entries=("docker.io", "local"))


def under_ci() -> bool:
    """Tell whether the suite runs under CI, where a missing tool is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip the test for want of a tool, or fail it under CI."""
    if under_ci():
        pytest.fail(f"{reason} (CI is set: tests that need it fail rather than skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the engine named by DOCKER_HOST (or the default socket)."""
    try:
        # from_env already asks the engine for its API version.
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # any failure here means "no engine", whatever its type
        missing(f"no Docker engine answers ({exc}); start dockerd or set DOCKER_HOST")
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Build the benchgate-test/* images once per session; {name: image reference}."""
    busybox, reason = find_static_busybox()
    if busybox is None:
        missing(f"cannot build test images: {reason}")
    return build_test_images(docker_client)


@pytest.fixture
def run_labels(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Labels unique to this test; afterwards no container may carry them."""
    labels = {TEST_LABEL: uuid.uuid4().hex}
    yield labels
    selector = f"{TEST_LABEL}={labels[TEST_LABEL]}"
    leftovers = docker_client.containers.list(all=True, filters={"label": selector})
    for container in leftovers:
        container.remove(force=True)
    assert not leftovers, f"containers left behind: {[c.short_id for c in leftovers]}"


@pytest.fixture
def make_runner(docker_client: docker.DockerClient):
    """Build a DockerRunner on the shared client with some settings changed."""

    def make(**changes: object) -> DockerRunner:
        # The test images are built on this engine, so engine-local images are allowed
        # unless a test says otherwise.
        changes.setdefault("registries", LOCAL_IMAGES)
        return DockerRunner(RunnerSettings(**changes), client=docker_client)  # type: ignore[arg-type]

    return make


def make_task(image: str, labels: dict[str, str], **fields: object) -> TaskRun:
    """A TaskRun with empty defaults for whatever the test does not care about."""
    values: dict[str, object] = {
        "command": None,
        "entrypoint": None,
        "environment": {},
        "mounts": [],
        "labels": labels,
    }
    values.update(fields)
    return TaskRun(image=image, **values)  # type: ignore[arg-type]


class Recorder:
    """An on_line callback remembering each line and when it arrived."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.times.append(time.monotonic())
