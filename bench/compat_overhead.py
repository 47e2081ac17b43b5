"""Benchmark: `flask compat-test` on the passing toy trio against five `docker run` by hand.

Run from the project root:  python bench/compat_overhead.py [--rounds 5] [--before DIR] [--profile]

The command line is timed from its process start to its exit, as a person would see it, with an
idle `flask worker` waiting on the queue. --before DIR also times another copy of the project
(e.g. `git archive <commit>` unpacked in DIR): its own worker on its own queue, its own command,
alternated in the same rounds. Needs a Docker engine, redis-server and busybox-static.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from _common import PROJECT_ROOT, Bench, Project, median

TARGET_RATIO = 1.10  # the command line's seconds over the five docker runs'
HELP_ROUNDS = 3
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
    "--log-driver",
    "none",
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


def command_line(bench: Bench) -> list[str]:
    """`flask compat-test` with the trio's links and the demo's hash."""
    links = bench.links
    return [
        "compat-test",
        *("--prep", links["prep"], "--prep-params", links["prep_params"]),
        *("--model", links["model"], "--evaluator", links["evaluator"]),
        *("--demo", links["demo"], "--demo-hash", bench.hashes["demo"]),
        *("--as", bench.user.email),
    ]


def time_start_up(bench: Bench, project: Project) -> float:
    """Seconds of `flask compat-test --help`: the interpreter, the imports and create_app."""
    started = time.perf_counter()
    project.flask(bench, "compat-test", "--help", stdout=subprocess.DEVNULL).wait()
    return time.perf_counter() - started


def run_command(bench: Bench, project: Project) -> dict[str, float]:
    """Run `flask compat-test` to its exit; return its seconds, whole and in parts."""
    from app.extensions import db
    from app.models import Run, RunStatus

    started_wall = time.time()
    started = time.perf_counter()
    process = project.flask(bench, *command_line(bench), stdout=subprocess.PIPE, text=True)
    output, _ = process.communicate(timeout=END_WAIT_SECONDS)
    total = time.perf_counter() - started
    exited_wall = started_wall + total
    found = re.search(r"Run #(\d+) queued", output)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"{project.label}: compat-test exited {process.returncode}:\n{output}")
    db.session.expire_all()
    run = db.session.get(Run, int(found.group(1)))
    if run.status != RunStatus.PASSED:
        raise RuntimeError(f"run {run.id} ended {run.status.value}: {run.failure_summary}")
    steps = {step.name: step for step in run.steps}
    seconds = {"total": total}
    seconds["start-up, to the run queued"] = _wall(run.created_at) - started_wall
    seconds["queue pick-up"] = _wall(steps["fetch"].started_at) - _wall(run.created_at)
    gaps = 0.0
    for index, name in enumerate(STEPS):
        seconds[name] = steps[name].duration_seconds
        if index:
            gaps += _wall(steps[name].started_at) - _wall(steps[STEPS[index - 1]].finished_at)
    seconds["between steps"] = gaps
    seconds["finishing the run"] = _wall(run.finished_at) - _wall(steps["evaluate"].finished_at)
    seconds["run end to exit"] = exited_wall - _wall(run.finished_at)
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

    from app.jobs.tasks import run_compatibility_test
    from app.services.runs import create_run

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
    parser.add_argument("--before", type=Path, help="another copy of the project, timed alike")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one run's job in-process (cProfile)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    return parser.parse_args()


ROWS = [
    "start-up, to the run queued",
    "queue pick-up",
    *STEPS,
    "between steps",
    "finishing the run",
    "run end to exit",
]


def report(runs: dict[str, list[dict[str, float]]], hand_runs: list[dict[str, float]]) -> bool:
    """Print the medians, each part beside its by-hand counterpart, the ratios and verdicts."""
    labels = list(runs)
    print(f"\nmedians over {len(hand_runs)} rounds: the command line, start to exit, vs by hand")
    print(f"{'part':<30}" + "".join(f"{label[:14]:>15}" for label in labels) + f"{'by hand':>10}")
    for name in [*ROWS, "total"]:
        cells = "".join(f"{median([r[name] for r in runs[label]]):>15.3f}" for label in labels)
        theirs = "-"
        if name in hand_runs[0]:
            theirs = f"{median([r[name] for r in hand_runs]):.3f}"
        elif name == "fetch":
            theirs = f"{median([r['setup'] for r in hand_runs]):.3f}"  # the by-hand folders
        print(f"{name:<30}{cells}{theirs:>10}")
    met = True
    for label in labels:
        pairs = zip(runs[label], hand_runs, strict=True)
        ratio = median([ours["total"] / theirs["total"] for ours, theirs in pairs])
        overhead = median([r["total"] for r in runs[label]]) - median(
            [r["total"] for r in hand_runs]
        )
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{label}: {ratio:.2f}x the by-hand runs, median of the rounds' ratios "
            f"({overhead:+.2f} s; target <= {TARGET_RATIO}x): {verdict}"
        )
        if label == labels[0]:
            met = ratio <= TARGET_RATIO
    return met


def main() -> int:
    """Set everything up, alternate the ways for --rounds rounds, print the comparison."""
    args = parse_args()
    with Bench("benchgate-compat-bench-") as bench:
        print("setting up: private Redis, SQLite, test images, asset server, workers ...")
        bench.start_services()
        projects = [Project("benchgate", PROJECT_ROOT, "bench-after")]
        if args.before:
            projects.append(
                Project(f"before ({args.before.name})", args.before.resolve(), "bench-before")
            )
        try:
            return _measure(bench, projects, args)
        finally:
            for project in projects:
                project.stop_worker()


def _measure(bench: Bench, projects: list[Project], args: argparse.Namespace) -> int:
    for project in projects:
        project.start_worker(bench)
    demo_url, demo_sha256 = bench.links["demo"], bench.hashes["demo"]
    with urllib.request.urlopen(demo_url, timeout=10) as answer:  # noqa: S310 - loopback
        demo = answer.read()
    with urllib.request.urlopen(bench.links["prep_params"], timeout=10) as answer:  # noqa: S310
        parameters = answer.read()
    print(
        "benchgate: `flask compat-test` with the trio's config links, the parameters link and"
        " the demo link with its SHA-256, timed from process start to exit; an idle worker"
        " waits on the queue; demo from the verified cache after the warm-up (re-hashed),"
        " configs and parameters downloaded each run, images resolved to digests, steps"
        " recorded in SQLite, logs and events sent to Redis"
    )
    print(
        "by hand: docker CLI `docker run --rm` with the same images, commands, limits and"
        " bind mounts; demo unpacked beforehand (untimed); output folders made and chowned"
        " (timed as 'fetch')"
    )
    # Warm-up, not counted: fills the download cache and the engine's caches.
    for project in projects:
        run_command(bench, project)
    prepare_by_hand_round(bench.folder / "hand-warmup", demo, parameters)
    run_by_hand(bench.folder / "hand-warmup")
    runs: dict[str, list[dict[str, float]]] = {project.label: [] for project in projects}
    hand_runs: list[dict[str, float]] = []
    for number in range(1, args.rounds + 1):
        folder = bench.folder / f"hand-{number}"
        prepare_by_hand_round(folder, demo, parameters)
        # An order turning by one each round spreads the machine's drift over all alike.
        ways = [*(p.label for p in projects), "by hand"]
        turn = (number - 1) % len(ways)
        for way in ways[turn:] + ways[:turn]:
            if way == "by hand":
                hand_runs.append(run_by_hand(folder))
            else:
                project = next(p for p in projects if p.label == way)
                runs[way].append(run_command(bench, project))
        print(
            f"round {number}: "
            + ", ".join(f"{label} {r[-1]['total']:.3f} s" for label, r in runs.items())
            + f", by hand {hand_runs[-1]['total']:.3f} s"
        )
    for project in projects:
        seconds = median([time_start_up(bench, project) for _ in range(HELP_ROUNDS)])
        print(f"{project.label}: `flask compat-test --help` (imports, create_app) {seconds:.3f} s")
    met = report(runs, hand_runs)
    if args.profile:
        for project in projects:
            project.stop_worker()
        profile_one_run(bench, demo_url, demo_sha256)
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
