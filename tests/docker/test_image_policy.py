"""The registry policy and named engine failures, against the real Docker engine."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import pytest

from tests.support.banner_server import BANNER, BannerServer
from tests.support.engine import TEST_LABEL, Recorder, make_task
from workers.docker_runner import ContainerVanished, ImageRefused, ImageUnavailable
from workers.registry_policy import RegistryPolicy

pytestmark = pytest.mark.docker

BANNER_TEXT = BANNER.decode().strip()


@pytest.fixture
def banner() -> Iterator[BannerServer]:
    with BannerServer() as server:
        yield server


def _containers_created(client: docker.DockerClient, labels: dict[str, str], since: int) -> int:
    """Count containers with these labels the engine created since then (removed ones too)."""
    selector = f"{TEST_LABEL}={labels[TEST_LABEL]}"
    events = client.events(
        since=since,
        until=int(time.time()) + 1,
        filters={"type": "container", "event": "create", "label": selector},
        decode=True,
    )
    return sum(1 for _ in events)


def _spellings(port: int) -> list[str]:
    return [
        f"127.0.0.1:{port}/x:1",
        f"2130706433:{port}/x:1",
        f"0x7f.0.0.1:{port}/x:1",
        f"[::ffff:7f00:1]:{port}/x:1",
        f"[::1]:{port}/x:1",
        f"localhost:{port}/x:1",
        f"LOCALHOST:{port}/x:1",
    ]


@pytest.mark.parametrize(
    "allowed", ["docker.io", "docker.io,local", "*", "docker.io,127.0.0.1:1,localhost"]
)
@pytest.mark.parametrize("pull_policy", ["if-not-present", "always"])
def test_an_unlisted_loopback_registry_is_never_contacted(
    banner, make_runner, run_labels, docker_client, allowed, pull_policy
):
    runner = make_runner(registries=RegistryPolicy.from_setting(allowed), pull_policy=pull_policy)
    since = int(time.time()) - 1
    for ref in _spellings(banner.port):
        with pytest.raises(ImageRefused) as caught:
            runner.resolve_image(ref)
        assert "registry" in str(caught.value)
        with pytest.raises(ImageRefused):
            runner.run_task(make_task(ref, run_labels), Recorder())
    time.sleep(0.5)  # an engine pull would have connected by now
    assert banner.connections == 0
    assert _containers_created(docker_client, run_labels, since) == 0


@pytest.mark.timeout(90)
def test_a_listed_registry_is_contacted_but_what_it_answers_is_not_shown(banner, make_runner):
    # The counterpart of the test above: the server does see the engine when it may come.
    runner = make_runner(registries=RegistryPolicy.from_setting(f"127.0.0.1:{banner.port}"))
    ref = f"127.0.0.1:{banner.port}/x:1"
    with pytest.raises(ImageUnavailable) as caught:
        runner.resolve_image(ref)
    assert banner.connections >= 1
    message = str(caught.value)
    assert message.startswith(f"The image {ref} could not be downloaded: ")
    assert "SSH" not in message and "reg-secret-banner" not in message


def test_a_locally_built_image_is_refused_unless_local_images_are_allowed(
    test_images, make_runner, run_labels, docker_client
):
    built = test_images["ok"]  # built on this engine: no registry made it
    assert not docker_client.images.get(built).attrs.get("RepoDigests")
    strict = make_runner(registries=RegistryPolicy(), pull_policy="never")
    since = int(time.time()) - 1
    with pytest.raises(ImageRefused, match="made or renamed here"):
        strict.resolve_image(built)
    with pytest.raises(ImageRefused, match="made or renamed here"):
        strict.run_task(make_task(built, run_labels, command=["true"]), Recorder())
    assert _containers_created(docker_client, run_labels, since) == 0

    lenient = make_runner(registries=RegistryPolicy.from_setting("docker.io,local"))
    assert lenient.resolve_image(built) == docker_client.images.get(built).id
    task = make_task(built, run_labels, command=["/bin/echo", "local ok"])
    lines = Recorder()
    assert lenient.run_task(task, lines).exit_code == 0
    assert lines.lines == ["local ok"]
    assert _containers_created(docker_client, run_labels, since) == 1  # the count counts


@pytest.mark.timeout(90)
def test_a_local_tag_over_nothing_pulled_is_not_run_when_the_worker_may_pull(
    test_images, make_runner, run_labels, docker_client
):
    # Under if-not-present the registry's own image is wanted; none can be pulled here.
    runner = make_runner(registries=RegistryPolicy(), pull_policy="if-not-present")
    lines = Recorder()
    with pytest.raises(ImageRefused, match="made or renamed here") as caught:
        runner.run_task(make_task(test_images["ok"], run_labels, command=["true"]), lines)
    assert "could not be downloaded" in str(caught.value)
    assert lines.lines == []
    assert docker_client.images.get(test_images["ok"])  # the local image is still there


def test_a_reference_the_engine_rejects_is_named_not_an_internal_error(make_runner):
    runner = make_runner()
    with pytest.raises(ImageRefused, match="not valid"):
        runner.resolve_image("a:b:c")
    # Past the policy, the engine's own 400 is still a named refusal.
    with pytest.raises(ImageUnavailable, match="does not accept"):
        runner.images.local("a:b:c")


@pytest.mark.timeout(60)
def test_a_container_removed_by_someone_else_while_it_runs_is_named(
    test_images, make_runner, run_labels, docker_client
):
    selector = f"{TEST_LABEL}={run_labels[TEST_LABEL]}"
    removed: list[str] = []

    def remove_when_running() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = docker_client.containers.list(filters={"label": selector})
            if running:
                subprocess.run(["docker", "rm", "-f", running[0].id], check=True, timeout=30)
                removed.append(running[0].id)
                return
            time.sleep(0.1)

    remover = threading.Thread(target=remove_when_running)
    remover.start()
    try:
        with pytest.raises(ContainerVanished) as caught:
            make_runner().run_task(make_task(test_images["hang"], run_labels), Recorder())
    finally:
        remover.join()
    assert removed
    assert caught.value.cause == "container_removed"
    assert "removed by something else" in str(caught.value)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(removed[0])
