"""Child processes of the portal (`flask worker`, `flask db`) on the test's database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# Settings a child process takes from the test's config. RUN_QUEUE too: a worker's
# housekeeping re-sends an undispatched run to its own RUN_QUEUE.
PASSED_ON = ("CONTAINER_", "MAX_", "IMAGE_", "KEEP_", "SSE_", "MAIL_", "PUBLIC_URL", "RUN_QUEUE")


def worker_env(config: dict) -> dict[str, str]:
    """Environment that points a child `flask` process at this test's services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PYTEST_"))}
    env.update(
        FLASK_APP="wsgi",
        SECRET_KEY=config["SECRET_KEY"],
        DATABASE_URL=config["DATABASE_URL"],
        REDIS_URL=config["REDIS_URL"],
        WORK_DIR=config["WORK_DIR"],
        FETCH_ALLOWED_HOSTS=config.get("FETCH_ALLOWED_HOSTS", ""),
        ALLOWED_REGISTRIES=config.get("ALLOWED_REGISTRIES", "docker.io"),
        PYTHONUNBUFFERED="1",
        COOKIES_SECURE="0",  # servers started for tests speak plain HTTP
    )
    for key, value in config.items():
        if key.startswith(PASSED_ON):
            env[key] = str(value)
    return env


def flask_command(*args: str) -> list[str]:
    """The command line of `flask ARGS` with this interpreter."""
    return [sys.executable, "-m", "flask", *args]


def run_burst_worker(config: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `flask worker --burst` until the queue is empty; return its output."""
    return subprocess.run(
        flask_command("worker", "--burst"),
        cwd=PROJECT_ROOT,
        env=worker_env(config),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_worker(config: dict, log_path: Path) -> subprocess.Popen:
    """Start a long-running `flask worker` in its own process group; the caller stops it."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            flask_command("worker"),
            cwd=PROJECT_ROOT,
            env=worker_env(config),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen) -> None:
    """Stop a worker started by start_worker, and its work horse, if still running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
