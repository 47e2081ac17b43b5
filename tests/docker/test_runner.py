"""DockerRunner against the real engine: confinement, limits, streaming, cleanup, images."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.engine import TEST_LABEL, Recorder, make_task
from workers.docker_runner import (
    DockerRunner,
    DockerUnavailable,
    EngineError,
    GpusUnavailable,
    ImageUnavailable,
    Mount,
    RunnerSettings,
    TaskNotStarted,
)

pytestmark = pytest.mark.docker

NOBODY = 65534


def expected_owner() -> int:
    """The uid a container runs as (and owns outputs as) with default settings."""
    return NOBODY if os.getuid() == 0 else os.getuid()


def test_smoke_busybox_echo_is_read_back(test_images, make_runner, run_labels):
    lines = Recorder()
    task = make_task(test_images["ok"], run_labels, command=["/bin/echo", "hello from busybox"])
    outcome = make_runner().run_task(task, lines)
    assert outcome.exit_code == 0
    assert lines.lines == ["hello from busybox"]
    assert outcome.last_lines == ["hello from busybox"]


def test_ok_image_reads_inputs_writes_outputs_and_sees_its_environment(
    test_images, make_runner, run_labels, tmp_path
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text("abc\n")
    (inputs / "b.txt").write_text("xyz\n")
    outputs = tmp_path / "out"  # does not exist yet: the runner creates it
    summary = tmp_path / "summary" / "summary.yaml"
    mounts = [
        Mount(inputs, "/input", read_only=True),
        Mount(outputs, "/output", read_only=False),
        Mount(summary, "/summary/summary.yaml", read_only=False, is_file=True),
    ]
    task = make_task(
        test_images["ok"], run_labels, mounts=mounts, environment={"GREETING": "bonjour"}
    )
    lines = Recorder()
    outcome = make_runner().run_task(task, lines)
    assert outcome.exit_code == 0, outcome.last_lines
    assert "ok: greeting=bonjour" in lines.lines
    assert f"ok: uid={expected_owner()} home=/tmp" in lines.lines
    assert (outputs / "a.txt").read_text() == "ABC\n"
    assert (outputs / "b.txt").read_text() == "XYZ\n"
    assert summary.is_file()
    assert summary.read_text() == "files: 2\ngreeting: bonjour\n"
    assert outputs.stat().st_uid == expected_owner()
    assert (outputs / "a.txt").stat().st_uid == expected_owner()


def test_entrypoint_overrides_the_image_and_the_command_follows_it(
    test_images, make_runner, run_labels
):
    lines = Recorder()
    task = make_task(
        test_images["ok"], run_labels, entrypoint="/bin/echo", command=["one", "two words"]
    )
    outcome = make_runner().run_task(task, lines)
    assert outcome.exit_code == 0
    assert lines.lines == ["one two words"]


def test_image_default_command_runs_when_none_is_given(test_images, make_runner, run_labels):
    outcome = make_runner().run_task(make_task(test_images["fail"], run_labels), Recorder())
    assert outcome.exit_code == 3
    assert "fail: about to fail" in outcome.last_lines


def test_nonzero_exit_is_reported_with_stderr_in_the_last_lines(
    test_images, make_runner, run_labels
):
    outcome = make_runner().run_task(make_task(test_images["fail"], run_labels), Recorder())
    assert outcome.exit_code == 3
    assert not (outcome.oom_killed or outcome.timed_out or outcome.canceled)
    assert "fail: something went wrong" in outcome.last_lines


@pytest.mark.timeout(60)
def test_timeout_kills_the_container(test_images, make_runner, run_labels):
    runner = make_runner(timeout_seconds=2)
    outcome = runner.run_task(make_task(test_images["hang"], run_labels), Recorder())
    assert outcome.timed_out
    assert not outcome.canceled
    assert outcome.exit_code == 137  # SIGKILL
    assert 2 <= outcome.duration < 10


@pytest.mark.timeout(60)
def test_cancel_kills_the_container_within_seconds(test_images, make_runner, run_labels):
    lines = Recorder()
    asked: list[float] = []

    def should_cancel() -> bool:
        if lines.lines and not asked:
            asked.append(time.monotonic())
        return bool(asked)

    outcome = make_runner().run_task(
        make_task(test_images["hang"], run_labels), lines, should_cancel
    )
    assert outcome.canceled
    assert not outcome.timed_out
    assert lines.lines == ["hang: sleeping forever"]
    assert time.monotonic() - asked[0] < 5


@pytest.mark.timeout(120)
def test_memory_hog_is_oom_killed(test_images, make_runner, run_labels):
    runner = make_runner(memory_bytes=32 * 2**20, timeout_seconds=60)
    outcome = runner.run_task(make_task(test_images["memhog"], run_labels), Recorder())
    assert outcome.oom_killed
    assert outcome.exit_code == 137
    assert not outcome.timed_out


@pytest.mark.timeout(120)
def test_fork_bomb_is_held_by_the_pids_limit(test_images, make_runner, run_labels):
    runner = make_runner(pids_limit=32, timeout_seconds=20)
    lines = Recorder()
    outcome = runner.run_task(make_task(test_images["forkbomb"], run_labels), lines)
    # The script's own shell hits the limit, reports it and ends the container.
    assert not outcome.timed_out
    assert outcome.exit_code != 0
    assert any("can't fork" in line for line in lines.lines), lines.lines[:5]
    # The host can still start processes.
    assert subprocess.run(["true"], check=False).returncode == 0


def test_lines_stream_as_they_are_printed(test_images, make_runner, run_labels):
    lines = Recorder()
    outcome = make_runner().run_task(make_task(test_images["stream"], run_labels), lines)
    ended = time.monotonic()
    assert outcome.exit_code == 0
    assert lines.lines == [
        "stream: first",
        "stream: second",
        "progress 1",
        "progress 2",
        "after-crlf",
        "bad byte \ufffd here",
        "stream: last without newline",
    ]
    # The script sleeps 2 s in all: its first line must arrive long before it ends.
    assert ended - lines.times[0] > 1.5


def test_a_chatty_container_delivers_every_line_in_order(test_images, make_runner, run_labels):
    lines = Recorder()
    task = make_task(test_images["ok"], run_labels, command=["/bin/seq", "1", "20000"])
    outcome = make_runner().run_task(task, lines)
    assert outcome.exit_code == 0
    assert lines.lines == [str(n) for n in range(1, 20001)]
    assert outcome.last_lines == [str(n) for n in range(19961, 20001)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_container_is_removed_when_the_line_callback_raises(
    test_images, make_runner, run_labels, error
):
    def on_line(line: str) -> None:
        raise error("stop here")

    with pytest.raises(error):
        make_runner().run_task(make_task(test_images["hang"], run_labels), on_line)
    # run_labels checks that no container with this test's label is left.


def test_missing_entrypoint_fails_with_the_reason_in_the_log(test_images, make_runner, run_labels):
    task = make_task(test_images["ok"], run_labels, entrypoint="/app/no-such-program")
    outcome = make_runner().run_task(task, Recorder())
    # The init process starts first, so a missing program is its failure, not the engine's.
    assert outcome.exit_code == 127
    assert any("/app/no-such-program" in line for line in outcome.last_lines)


def test_a_name_already_taken_is_an_engine_error_not_the_tasks(
    test_images, make_runner, run_labels, docker_client
):
    name = f"benchgate-test-{uuid.uuid4().hex[:12]}"
    holder = docker_client.containers.create(
        test_images["ok"], ["true"], name=name, labels=run_labels
    )
    try:
        task = make_task(test_images["ok"], run_labels, command=["true"], name=name)
        with pytest.raises(EngineError, match="could not create the container") as caught:
            make_runner().run_task(task, Recorder())
        assert caught.value.cause == "docker_error"
        assert "Conflict" not in str(caught.value)  # the engine's own text is logged only
        assert docker_client.containers.get(name).id == holder.id  # not removed by mistake
    finally:
        holder.remove(force=True)


def test_settings_the_engine_refuses_at_create_raise_task_not_started(
    test_images, make_runner, run_labels, tmp_path
):
    mounts = [Mount(tmp_path / "out", "not/absolute", read_only=False)]
    task = make_task(test_images["ok"], run_labels, command=["true"], mounts=mounts)
    with pytest.raises(TaskNotStarted, match="could not be created"):
        make_runner().run_task(task, Recorder())


def test_gpus_on_a_worker_without_gpus_fail_before_any_container(
    test_images, make_runner, run_labels, docker_client
):
    before = len(docker_client.containers.list(all=True))
    task = make_task(test_images["ok"], run_labels, command=["true"], gpus="all")
    with pytest.raises(GpusUnavailable, match="GPUs"):
        make_runner().run_task(task, Recorder())
    assert len(docker_client.containers.list(all=True)) == before
    # "gpus: 0" asks for none and runs anywhere.
    zero = make_task(test_images["ok"], run_labels, command=["true"], gpus=0)
    assert make_runner().run_task(zero, Recorder()).exit_code == 0


def test_resolve_image_returns_the_local_id_of_an_image_without_repo_digest(
    test_images, make_runner, docker_client
):
    digest = make_runner().resolve_image(test_images["ok"])
    assert digest == docker_client.images.get(test_images["ok"]).id
    assert digest.startswith("sha256:")


def test_never_policy_refuses_a_missing_image(make_runner, run_labels):
    runner = make_runner(pull_policy="never")
    missing = f"benchgate-test/absent-{uuid.uuid4().hex[:8]}:latest"
    with pytest.raises(ImageUnavailable, match="never"):
        runner.resolve_image(missing)
    with pytest.raises(ImageUnavailable, match="never"):
        runner.run_task(make_task(missing, run_labels), Recorder())


@pytest.mark.timeout(90)
def test_missing_image_that_cannot_be_pulled_names_the_reason(make_runner):
    missing = f"benchgate-test/absent-{uuid.uuid4().hex[:8]}:latest"
    started = time.monotonic()
    with pytest.raises(ImageUnavailable) as caught:
        make_runner(pull_policy="if-not-present").resolve_image(missing)
    message = str(caught.value)
    assert missing in message
    # A plain reason, without the engine's text (which names the registry's address).
    assert "could not be downloaded: the registry" in message
    assert "registry-1.docker.io" not in message and "https://" not in message
    assert time.monotonic() - started < 60


def test_remove_labelled_removes_only_our_leftovers(
    test_images, make_runner, run_labels, docker_client
):
    run = {"benchgate.run": uuid.uuid4().hex}
    ours = docker_client.containers.create(
        test_images["ok"], ["true"], labels={**run_labels, **run, "benchgate": "1"}
    )
    foreign = docker_client.containers.create(
        test_images["ok"], ["true"], labels={**run_labels, **run}
    )
    runner = make_runner()
    try:
        listed = [c for c in runner.list_labelled("benchgate.run") if c["id"] == ours.id]
        assert listed and listed[0]["labels"]["benchgate.run"] == run["benchgate.run"]
        assert listed[0]["status"] == "created"
        assert foreign.id not in {c["id"] for c in runner.list_labelled("benchgate.run")}
        assert runner.remove_labelled(run) == 1
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(ours.id)
        docker_client.containers.get(foreign.id)  # still there: not one of the platform's
    finally:
        foreign.remove(force=True)
        if runner.remove_labelled(run):
            pytest.fail("remove_labelled left a container behind")


def test_unreachable_engine_raises_docker_unavailable():
    # A loopback port nobody listens on (a unix socket path would do too, but the SDK leaks
    # the socket of a failed unix connect, which the warnings-as-errors setting catches).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A fixed API version: asking the absent engine for it would fail in the constructor.
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=5)
    try:
        runner = DockerRunner(RunnerSettings(), client=client)
        assert runner.ping() is False
        with pytest.raises(DockerUnavailable, match="not reachable"):
            runner.resolve_image("benchgate-test/ok:latest")
        with pytest.raises(DockerUnavailable, match="not reachable"):
            runner.run_task(make_task("benchgate-test/ok:latest", {}), Recorder())
        with pytest.raises(DockerUnavailable):
            runner.remove_labelled({TEST_LABEL: "x"})
    finally:
        client.close()


def test_ping_answers_true_for_a_live_engine(make_runner):
    assert make_runner().ping() is True


def test_containers_run_in_parallel_threads_are_all_removed(test_images, make_runner, run_labels):
    runner = make_runner()
    codes: list[int | None] = []

    def run() -> None:
        task = make_task(test_images["ok"], run_labels, command=["/bin/sh", "-c", "exit 7"])
        codes.append(runner.run_task(task, Recorder()).exit_code)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [7, 7, 7]


def test_toy_benchmark_prepares_infers_and_evaluates(
    test_images, make_runner, run_labels, tmp_path: Path
):
    raw, labels = tmp_path / "raw", tmp_path / "labels"
    raw.mkdir()
    labels.mkdir()
    for name, value, label in [
        ("c1", 10, "negative"),
        ("c2", 90, "positive"),
        ("c3", 60, "negative"),
    ]:
        (raw / f"{name}.txt").write_text(f" {value}\n")
        (labels / f"{name}.txt").write_text(f"{label}\n")
    prepared, prepared_labels = tmp_path / "prepared", tmp_path / "prepared_labels"
    predictions, stats, results = tmp_path / "pred", tmp_path / "stats.yaml", tmp_path / "res.yaml"
    runner = make_runner()

    def run(image: str, script: str, mounts: list[Mount]) -> None:
        command = ["/bin/sh", f"/app/{script}", *(m.container_path for m in mounts)]
        task = make_task(image, run_labels, command=command, mounts=mounts)
        outcome = runner.run_task(task, Recorder())
        assert outcome.exit_code == 0, (script, outcome.last_lines)

    ro, rw = True, False
    run(test_images["prep"], "prepare.sh", [
        Mount(raw, "/data/raw", ro), Mount(labels, "/data/labels", ro),
        Mount(prepared, "/data/out", rw), Mount(prepared_labels, "/data/out_labels", rw),
    ])  # fmt: skip
    run(test_images["prep"], "sanity_check.sh", [
        Mount(prepared, "/data/prepared", ro), Mount(prepared_labels, "/data/labels", ro),
    ])  # fmt: skip
    run(test_images["prep"], "statistics.sh", [
        Mount(prepared, "/data/prepared", ro), Mount(prepared_labels, "/data/labels", ro),
        Mount(stats, "/stats/statistics.yaml", rw, is_file=True),
    ])  # fmt: skip
    run(test_images["model"], "infer.sh", [
        Mount(prepared, "/data/prepared", ro), Mount(predictions, "/predictions", rw),
    ])  # fmt: skip
    run(test_images["metrics"], "evaluate.sh", [
        Mount(predictions, "/predictions", ro), Mount(prepared_labels, "/labels", ro),
        Mount(results, "/results/results.yaml", rw, is_file=True),
    ])  # fmt: skip
    assert (prepared / "c1.txt").read_text() == "10\n"
    assert stats.read_text() == "cases: 3\npositive: 1\nnegative: 2\nmean_value: 53.3333\n"
    assert (predictions / "c3.txt").read_text() == "positive\n"
    assert results.read_text() == "accuracy: 0.6667\ncases: 3\ncorrect: 2\n"
