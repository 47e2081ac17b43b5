"""Fixtures for tests against the real Docker engine: a client, the test images, a runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from tests.docker.images import build_test_images, find_static_busybox
from workers.docker_runner import DockerRunner, RunnerSettings
from workers.registry_policy import RegistryPolicy

TEST_LABEL = "benchgate.test"
LOCAL_IMAGES = RegistryPolicy(entries=("docker.io", "local"))


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the engine named by DOCKER_HOST (or the default socket); skip if none answers."""
    client = docker.from_env(timeout=30)
    try:
        client.ping()
    except Exception as exc:  # any failure here means "no engine", whatever its type
        client.close()
        pytest.skip(f"no Docker engine answers ({exc}); start dockerd or set DOCKER_HOST")
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Build the benchgate-test/* images once per session; {name: image reference}."""
    busybox, reason = find_static_busybox()
    if busybox is None:
        pytest.skip(f"cannot build test images: {reason}")
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
