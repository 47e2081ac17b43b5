"""Benchmark: the passing toy trio through Benchgate against the same five `docker run` by hand.

Run from the project root:  python bench/compat_overhead.py [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from _common import Bench, median

TARGET_OVERHEAD_SECONDS = 0.5
STEPS = ("fetch", "prepare", "sanity_check", "statistics", "infer", "evaluate")
NOBODY = (65534, 65534)  # the container user Benchgate picks for a worker running as root
END_WAIT_SECONDS = 120

# Benchgate's container defaults (SPEC 3.1), spelled as `docker run` flags.
CONFINEMENT = [
    "--rm",
    "--network",
    "none",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--init",
    "--read-only",
    "--tmpfs",
    f"/tmp:size={2**30},mode=1777",
    "--memory",
    str(4 * 2**30),
    "--memory-swap",
    str(4 * 2**30),
    "--cpus",
    "2",
    "--pids-limit",
    "512",
    "--shm-size",
    str(64 * 2**20),
    "--user",
    f"{NOBODY[0]}:{NOBODY[1]}",
    "--env",
    "HOME=/tmp",
]


@dataclass
class Task:
    """One of the five container tasks, as a person would type it: image, mounts, command."""

    step: str
    image: str
    command: list[str]
    inputs: dict[str, str]  # host path (relative to the round's folder) -> container path
    outputs: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)


PARAMS = {"parameters.yaml": "/mlcube_io2/parameters.yaml"}
PREPARED = {"prepared/data": "/mlcube_io0", "prepared/labels": "/mlcube_io1"}
TASKS = [
    Task(
        "prepare",
        "benchgate-test/prep:latest",
        ["sh", "/app/prepare.sh", "/mlcube_io0", "/mlcube_io1", "/mlcube_io3", "/mlcube_io4"],
        {"demo/demo_data/images": "/mlcube_io0", "demo/demo_data/labels": "/mlcube_io1", **PARAMS},
        {"prepared/data": "/mlcube_io3", "prepared/labels": "/mlcube_io4"},
    ),
    Task(
        "sanity_check",
        "benchgate-test/prep:latest",
        ["sh", "/app/sanity_check.sh", "/mlcube_io0", "/mlcube_io1"],
        {**PREPARED, **PARAMS},
        {},
    ),
    Task(
        "statistics",
        "benchgate-test/prep:latest",
        ["sh", "/app/statistics.sh", "/mlcube_io0", "/mlcube_io1", "/mlcube_io3/statistics.yaml"],
        {**PREPARED, **PARAMS},
        {"statistics.yaml": "/mlcube_io3/statistics.yaml"},
    ),
    Task(
        "infer",
        "benchgate-test/model:latest",
        ["sh", "/app/infer.sh", "/mlcube_io0", "/mlcube_io1"],
        {"prepared/data": "/mlcube_io0"},
        {"predictions": "/mlcube_io1"},
        {"THRESHOLD": "50"},
    ),
    Task(
        "evaluate",
        "benchgate-test/metrics:latest",
        ["sh", "/app/evaluate.sh", "/mlcube_io0", "/mlcube_io1", "/mlcube_io2/results.yaml"],
        {"predictions": "/mlcube_io0", "prepared/labels": "/mlcube_io1"},
        {"results.yaml": "/mlcube_io2/results.yaml"},
    ),
]


def docker_run_command(task: Task, root: Path) -> list[str]:
    """The `docker run` command line of a task, with the round's folders bind-mounted."""
    command = ["docker", "run", *CONFINEMENT, "--label", "benchgate.bench=1"]
    for key, value in task.env.items():
        command += ["--env", f"{key}={value}"]
    for host, target in task.inputs.items():
        command += ["--mount", f"type=bind,source={root / host},target={target},readonly"]
    for host, target in task.outputs.items():
        command += ["--mount", f"type=bind,source={root / host},target={target}"]
    return [*command, task.image, *task.command]


def prepare_by_hand_round(folder: Path, demo: bytes, parameters: bytes) -> None:
    """Untimed: what a person has before typing the commands (demo unpacked, parameters)."""
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(demo), mode="r:gz") as tar:
        tar.extractall(folder / "demo", filter="data")
    (folder / "parameters.yaml").write_bytes(parameters)


def run_by_hand(folder: Path) -> dict[str, float]:
    """Create the outputs, then run the five tasks with the docker CLI; return seconds each."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    for name in ("prepared/data", "prepared/labels", "predictions"):
        (folder / name).mkdir(parents=True)
    for name in ("statistics.yaml", "results.yaml"):
        (folder / name).touch()
    for name in ("prepared", "prepared/data", "prepared/labels", "predictions"):
        os.chown(folder / name, *NOBODY)
    for name in ("statistics.yaml", "results.yaml"):
        os.chown(folder / name, *NOBODY)
    seconds["setup"] = time.perf_counter() - started
    for task in TASKS:
        began = time.perf_counter()
        done = subprocess.run(docker_run_command(task, folder), capture_output=True, text=True)
        seconds[task.step] = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"docker run of {task.step} failed: {done.stderr[-2000:]}")
    if "accuracy: 0.7500" not in (folder / "results.yaml").read_text():
        raise RuntimeError("the hand-made run did not produce the expected results")
    seconds["total"] = time.perf_counter() - started
    return seconds


def run_benchgate(bench: Bench, demo_url: str, demo_sha256: str) -> dict[str, float]:
    """Submit the trio and wait for its end event; return total and per-segment seconds."""
    from app.extensions import db
    from app.models import Run, RunStatus
    from app.services.run_events import read_events
    from app.services.runs import create_run

    slots = bench.trio_slots()
    submitted_wall = time.time()
    started = time.perf_counter()
    run = create_run(bench.user, slots=slots, demo_url=demo_url, demo_sha256=demo_sha256)
    run_id = run.id
    after = "0-0"
    deadline = started + END_WAIT_SECONDS
    ended = False
    while not ended:
        if time.perf_counter() > deadline:
            raise RuntimeError("the run did not end in time:\n" + bench.worker_log()[-3000:])
        # Blocking reads well under the client's 5 s socket timeout.
        for event_id, kind, _data in read_events(bench.redis, run_id, after, block_ms=1000):
            after = event_id
            ended = ended or kind == "end"
    total = time.perf_counter() - started
    ended_wall = submitted_wall + total
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    if run.status != RunStatus.PASSED:
        raise RuntimeError(f"run {run_id} ended {run.status.value}: {run.failure_summary}")
    steps = {step.name: step for step in run.steps}
    seconds = {"total": total}
    seconds["submit to fetch start"] = _wall(steps["fetch"].started_at) - submitted_wall
    gaps = 0.0
    for index, name in enumerate(STEPS):
        seconds[name] = steps[name].duration_seconds
        if index:
            gaps += _wall(steps[name].started_at) - _wall(steps[STEPS[index - 1]].finished_at)
    seconds["between steps"] = gaps
    seconds["evaluate end to end event"] = ended_wall - _wall(steps["evaluate"].finished_at)
    return seconds


def _wall(moment: datetime) -> float:
    return moment.timestamp()


# Where a run's time can go, as (file ending, function) pairs picked out of the profile.
PROFILED = [
    ("workers/pipeline.py", "run_pipeline"),
    ("workers/inputs.py", "fetch_all"),
    ("workers/docker_runner.py", "run_task"),
    ("docker/models/containers.py", "create"),
    ("docker/models/containers.py", "start"),
    ("workers/docker_runner.py", "_follow"),
    ("workers/docker_logs.py", "deliver"),
    ("workers/docker_runner.py", "_remove_quietly"),
    ("app/services/runs.py", "mark_running"),
    ("app/services/runs.py", "update_step"),
    ("app/services/runs.py", "finish_run"),
    ("workers/docker_runner.py", "remove_labelled"),
    ("shutil.py", "rmtree"),
]


def profile_one_run(bench: Bench, demo_url: str, demo_sha256: str) -> None:
    """Run the job function once in this process under cProfile and print where time goes.

    The worker is stopped first so the queued job is only run here, without RQ's fork.
    Only this thread is profiled: the log pump and the container waiter run beside it.
    """
    import cProfile
    import pstats

    from app.services.runs import create_run
    from workers.jobs import run_compatibility_test

    bench.stop_worker()
    run = create_run(
        bench.user, slots=bench.trio_slots(), demo_url=demo_url, demo_sha256=demo_sha256
    )
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    status = run_compatibility_test(run.id)
    profiler.disable()
    seconds = time.perf_counter() - started
    print(f"\nprofiled run (job function in this process, cProfile): {status} in {seconds:.3f} s")
    print(f"{'function':<44}{'calls':>7}{'cumulative s':>14}")
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for ending, name in PROFILED:
        for (path, _line, function), (_cc, calls, _tt, cumulative, _callers) in stats.items():
            if function == name and path.endswith(ending):
                label = f"{Path(ending).name}:{name}"
                print(f"{label:<44}{calls:>7}{cumulative:>14.3f}")


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each (default 5)")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one run's job in-process (cProfile)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    return parser.parse_args()


def report(bench_runs: list[dict[str, float]], hand_runs: list[dict[str, float]]) -> bool:
    """Print the medians, the per-step comparison and the verdict; return whether it was met."""
    bench_s = median([r["total"] for r in bench_runs])
    hand_s = median([r["total"] for r in hand_runs])
    overhead = bench_s - hand_s
    print(f"\nmedians over {len(bench_runs)} rounds, submit to passed vs the five docker runs")
    print(f"{'segment':<28}{'benchgate s':>12}{'by hand s':>12}{'extra s':>10}")
    rows = ["submit to fetch start", "fetch", *STEPS[1:], "between steps"]
    rows.append("evaluate end to end event")
    for name in rows:
        ours = median([r[name] for r in bench_runs])
        theirs = median([r[name] for r in hand_runs]) if name in hand_runs[0] else None
        if name == "fetch":
            theirs = median([r["setup"] for r in hand_runs])  # the by-hand folders
        extra = f"{ours - theirs:>10.3f}" if theirs is not None else f"{ours:>10.3f}"
        hand = f"{theirs:>12.3f}" if theirs is not None else f"{'-':>12}"
        print(f"{name:<28}{ours:>12.3f}{hand}{extra}")
    print(f"{'total':<28}{bench_s:>12.3f}{hand_s:>12.3f}{overhead:>10.3f}")
    print(f"ratio benchgate / by hand: {bench_s / hand_s:.2f}x")
    met = overhead <= TARGET_OVERHEAD_SECONDS
    print(
        f"verdict: {overhead:.2f} s of overhead per run (target <= {TARGET_OVERHEAD_SECONDS} s): "
        + ("met" if met else "MISSED")
    )
    return met


def main() -> int:
    """Set everything up, alternate the two ways for --rounds rounds, print the comparison."""
    args = parse_args()
    with Bench("benchgate-compat-bench-") as bench:
        print("setting up: private Redis, SQLite, test images, asset server, worker ...")
        bench.start_services()
        bench.start_worker()
        demo_url, demo_sha256 = bench.links["demo"], bench.hashes["demo"]
        with urllib.request.urlopen(demo_url, timeout=10) as answer:  # noqa: S310 - loopback
            demo = answer.read()
        with urllib.request.urlopen(bench.links["prep_params"], timeout=10) as answer:  # noqa: S310
            parameters = answer.read()
        print(
            "benchgate: ad-hoc links with expected SHA-256 for the demo, parameters and configs;"
            " demo and parameters come from its verified cache after the warm-up (re-hashed),"
            " configs are downloaded each run (the cache does not take them), images resolved"
            " to digests, steps recorded in SQLite, logs and events sent to Redis"
        )
        print(
            "by hand: docker CLI `docker run --rm` with the same images, commands, limits and"
            " bind mounts; demo unpacked beforehand (untimed); output folders made and chowned"
            " (timed as 'fetch')"
        )
        # Warm-up, not counted: fills the download cache and the engine's caches.
        run_benchgate(bench, demo_url, demo_sha256)
        prepare_by_hand_round(bench.folder / "hand-warmup", demo, parameters)
        run_by_hand(bench.folder / "hand-warmup")
        bench_runs: list[dict[str, float]] = []
        hand_runs: list[dict[str, float]] = []
        for number in range(1, args.rounds + 1):
            folder = bench.folder / f"hand-{number}"
            prepare_by_hand_round(folder, demo, parameters)
            # Alternating which goes first spreads the machine's drift over both alike.
            if number % 2:
                bench_runs.append(run_benchgate(bench, demo_url, demo_sha256))
                hand_runs.append(run_by_hand(folder))
            else:
                hand_runs.append(run_by_hand(folder))
                bench_runs.append(run_benchgate(bench, demo_url, demo_sha256))
            print(
                f"round {number}: benchgate {bench_runs[-1]['total']:.3f} s, "
                f"by hand {hand_runs[-1]['total']:.3f} s"
            )
        met = report(bench_runs, hand_runs)
        if args.profile:
            profile_one_run(bench, demo_url, demo_sha256)
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
