"""What a task's container can and cannot do, as reported from inside by the probe image."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.engine import LOCAL_IMAGES, TEST_LABEL
from workers.docker_runner import DockerRunner, Mount, RunnerSettings, TaskOutcome, TaskRun

pytestmark = pytest.mark.docker

SETTINGS = RunnerSettings(
    memory_bytes=256 * 2**20,
    nano_cpus=1_500_000_000,
    pids_limit=64,
    shm_max_bytes=16 * 2**20,
    tmpfs_bytes=8 * 2**20,
    registries=LOCAL_IMAGES,
)


@pytest.fixture(scope="module")
def probe(
    test_images: dict[str, str], docker_client: docker.DockerClient, tmp_path_factory
) -> tuple[dict[str, str], TaskOutcome, Path]:
    """Run the probe image once; return its key=value facts, the outcome and the output dir."""
    root = tmp_path_factory.mktemp("probe")
    inputs, outputs = root / "in", root / "out"
    inputs.mkdir()
    (inputs / "data.txt").write_text("probe input\n")
    gateway = _bridge_gateway(docker_client)
    labels = {TEST_LABEL: uuid.uuid4().hex}
    task = TaskRun(
        image=test_images["probe"],
        command=None,
        entrypoint=None,
        # Were the network not cut, this would reach the host's bridge (and be refused).
        environment={"PROBE_HOST": gateway, "PROBE_PORT": "9"},
        mounts=[Mount(inputs, "/input", read_only=True), Mount(outputs, "/output", False)],
        labels=labels,
        shm_size="1g",  # above the 16 MiB cap
    )
    lines: list[str] = []
    outcome = DockerRunner(SETTINGS, client=docker_client).run_task(task, lines.append)
    left = docker_client.containers.list(
        all=True, filters={"label": f"{TEST_LABEL}={labels[TEST_LABEL]}"}
    )
    assert not left, "the probe container was not removed"
    facts = dict(line.split("=", 1) for line in lines if "=" in line)
    return facts, outcome, outputs


def _bridge_gateway(client: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge (a documentation address if unknown)."""
    try:
        config = client.networks.get("bridge").attrs["IPAM"]["Config"]
        return next(c["Gateway"] for c in config if c.get("Gateway"))
    except (docker.errors.NotFound, KeyError, StopIteration):
        return "192.0.2.1"


def test_probe_ran_to_the_end(probe):
    facts, outcome, _ = probe
    assert outcome.exit_code == 0, outcome.last_lines
    assert "mounts" in facts


def test_runs_as_a_non_root_user(probe):
    facts, _, _ = probe
    expected = 65534 if os.getuid() == 0 else os.getuid()
    assert facts["uid"] == str(expected)
    assert facts["uid"] != "0"


def test_home_is_tmp(probe):
    assert probe[0]["home"] == "/tmp"


def test_root_filesystem_is_read_only_but_tmp_is_writable(probe):
    facts, _, _ = probe
    assert facts["root_write"] == "denied"
    assert facts["tmp_write"] == "ok"


def test_inputs_are_read_only_and_outputs_writable(probe):
    facts, _, outputs = probe
    assert facts["input_read"] == "probe input"
    assert facts["input_write"] == "denied"
    assert facts["output_write"] == "ok"
    assert (outputs / "probe.txt").read_text() == "probe\n"


def test_all_capabilities_are_dropped_and_privileges_cannot_grow(probe):
    facts, _, _ = probe
    assert int(facts["capeff"], 16) == 0
    assert facts["nonewprivs"] == "1"


def test_an_init_process_is_pid_1(probe):
    assert probe[0]["pid1"] in {"docker-init", "tini"}


def test_there_is_no_network(probe):
    facts, _, _ = probe
    assert facts["interfaces"].split() == ["lo"]
    assert facts["network"].startswith("failed")
    assert "unreachable" in facts["network"].lower()


def test_memory_pids_shm_and_tmpfs_limits_are_applied(probe):
    facts, _, _ = probe
    assert int(facts["memory_limit"]) == SETTINGS.memory_bytes
    assert int(facts["pids_max"]) == SETTINGS.pids_limit
    quota, period = (int(n) for n in facts["cpu_quota"].split("/"))
    assert quota / period == SETTINGS.nano_cpus / 1e9
    if facts["memsw_limit"] != "unsupported":  # cgroup v1 with swap accounting
        assert int(facts["memsw_limit"]) == SETTINGS.memory_bytes  # no swap on top
    assert int(facts["shm_kib"]) * 1024 == SETTINGS.shm_max_bytes  # 1g asked, capped
    assert int(facts["tmp_kib"]) * 1024 == SETTINGS.tmpfs_bytes


def test_only_the_declared_host_paths_are_mounted(probe):
    facts, _, _ = probe
    # What any container has: the kernel's filesystems, the init binary and Docker's
    # own per-container files.
    allowed = {"/", "/tmp", "/dev/shm", "/sbin/docker-init", "/input", "/output"}
    allowed |= {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
    kernel = ("/proc", "/sys", "/dev")
    extra = [m for m in facts["mounts"].split() if m not in allowed and not m.startswith(kernel)]
    assert extra == []


def test_the_engine_keeps_no_log_file_and_the_output_still_arrives(
    test_images: dict[str, str], docker_client: docker.DockerClient, monkeypatch
):
    """A container flooding its output must not fill the worker's disk with the engine's own
    log file: Benchgate reads the attach stream and keeps a bounded log of its own."""
    seen: dict[str, object] = {}
    runner = DockerRunner(SETTINGS, client=docker_client)
    create = runner._create

    def create_and_look(create_args):
        container = create(create_args)
        seen["log"] = docker_client.api.inspect_container(container.id)["HostConfig"]["LogConfig"]
        return container

    monkeypatch.setattr(runner, "_create", create_and_look)
    lines: list[str] = []
    task = TaskRun(
        image=test_images["model"],
        command=["sh", "-c", "echo out; echo err >&2"],
        entrypoint=None,
        environment={},
        mounts=[],
        labels={TEST_LABEL: uuid.uuid4().hex},
    )
    outcome = runner.run_task(task, lines.append)
    assert outcome.exit_code == 0
    assert seen["log"]["Type"] == "none"
    assert sorted(lines) == ["err", "out"]
