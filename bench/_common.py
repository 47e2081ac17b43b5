"""Shared setup of the worker benchmarks: private Redis, SQLite, assets, images, worker, web.

Everything is started inside a temporary folder by a `Bench` and stopped by it, in reverse
order; processes are stopped by the pid they were started with, nothing else is touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/NAME.py`, only bench/ is on the path: app/ and tests/ must be reachable.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support.accounts import PASSWORD, make_user  # noqa: E402
from tests.support.docker_images import build_test_images  # noqa: E402
from tests.support.http_server import AssetServer  # noqa: E402
from tests.support.processes import start_worker, stop_worker, worker_env  # noqa: E402
from tests.support.services import RedisServer, free_port, wait_until  # noqa: E402
from tests.support.trio import serve_trio  # noqa: E402

__all__ = ["PASSWORD", "PROJECT_ROOT", "Bench", "Project", "percentile", "median"]

USER_EMAIL = "bench@example.org"
TRIO_SLOTS = {"prep": "data_preparator", "model": "model", "evaluator": "evaluator"}


def median(values: Sequence[float]) -> float:
    """Return the median of values."""
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (fraction in 0..1) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def sha256_of_link(url: str) -> str:
    """Return the SHA-256 of what a loopback link serves."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server
        return hashlib.sha256(response.read()).hexdigest()


class Bench:
    """A private Benchgate stack: Redis, a SQLite database, the toy trio's assets, a worker."""

    def __init__(self, prefix: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self._stack = contextlib.ExitStack()
        self.config: dict[str, Any] = {}
        self.assets: AssetServer | None = None
        self.links: dict[str, str] = {}
        self.hashes: dict[str, str] = {}
        self.app: Any = None
        self.user: Any = None
        self.worker: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.web_url = ""

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._stack.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # Services

    def start_services(self, **settings: Any) -> None:
        """Start Redis, create the database and an account, build images, serve the trio."""
        redis = RedisServer(self.folder / "redis").start()
        self._stack.callback(redis.stop)
        self.config = {
            "SECRET_KEY": "bench-" + os.urandom(8).hex(),
            "DATABASE_URL": f"sqlite:///{self.folder / 'bench.sqlite'}",
            "REDIS_URL": redis.url,
            "WORK_DIR": str(self.folder / "work"),
            "FETCH_ALLOWED_HOSTS": "127.0.0.1",
            # No registry is reachable (nor should be): the images are built locally below.
            "IMAGE_PULL_POLICY": "never",
            "ALLOWED_REGISTRIES": "docker.io,local",
            **settings,
        }
        self.app = create_app(self.config)
        context = self.app.app_context()
        context.push()
        self._stack.callback(self._close_app, context)
        db.create_all()
        self.user = make_user(USER_EMAIL, "Bench Mark")

        import docker

        client = docker.from_env()
        try:
            build_test_images(client)
        finally:
            client.close()

        self.assets = AssetServer().start()
        self._stack.callback(self.assets.stop)
        self.links = serve_trio(self.assets)
        # The demo archive is rebuilt (new gzip time stamp) on every serve: hash what is served.
        self.hashes = {name: sha256_of_link(url) for name, url in self.links.items()}

    def _close_app(self, context: Any) -> None:
        db.session.remove()
        db.engine.dispose()
        self.app.extensions["redis"].close()
        context.pop()

    @property
    def redis(self) -> Any:
        """The app's Redis client."""
        return self.app.extensions["redis"]

    def trio_slots(self, *, model_config_url: str | None = None) -> dict[str, dict[str, Any]]:
        """The trio as ad-hoc links, every file with its expected hash (so the cache applies)."""
        from app.services.runs import slot_from_links

        model_url = model_config_url or self.links["model"]
        model_sha = sha256_of_link(model_url) if model_config_url else self.hashes["model"]
        return {
            "data_preparator": slot_from_links(
                self.links["prep"],
                config_sha256=self.hashes["prep"],
                parameters_url=self.links["prep_params"],
                parameters_sha256=self.hashes["prep_params"],
            ),
            "model": slot_from_links(model_url, config_sha256=model_sha),
            "evaluator": slot_from_links(
                self.links["evaluator"], config_sha256=self.hashes["evaluator"]
            ),
        }

    # Processes

    def start_worker(self) -> None:
        """Start a long-running `flask worker` and wait until it is idle on the queue."""
        from rq import Worker

        self.worker = start_worker(self.config, self.folder / "worker.log")
        self._stack.callback(self.stop_worker)

        def idle() -> bool:
            return any(w.get_state() == "idle" for w in Worker.all(connection=self.redis))

        if not wait_until(idle, timeout=30, interval=0.1):
            raise RuntimeError("the worker did not start:\n" + self.worker_log()[-3000:])

    def stop_worker(self) -> None:
        """Stop the worker if it still runs."""
        if self.worker is not None:
            stop_worker(self.worker)
            self.worker = None

    def worker_log(self) -> str:
        """The worker's output so far."""
        path = self.folder / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_web(self, threads: int = 8) -> str:
        """Start gunicorn (gthread) on a free loopback port; return its base link."""
        port = free_port()
        log = open(self.folder / "web.log", "w")  # noqa: SIM115 - closed with the stack
        self._stack.callback(log.close)
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-k",
                "gthread",
                "--workers",
                "1",
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=PROJECT_ROOT,
            env=worker_env(self.config),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._stack.callback(self._stop_web)
        self.web_url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                with urllib.request.urlopen(self.web_url + "/healthz", timeout=1):
                    return True
            except OSError as error:
                return getattr(error, "code", None) is not None  # any HTTP answer will do

        if not wait_until(answers, timeout=30, interval=0.1):
            raise RuntimeError("gunicorn did not start; see its log")
        return self.web_url

    def _stop_web(self) -> None:
        process, self.web = self.web, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def session_cookie(self) -> str:
        """Sign in through the real sign-in form; return the Cookie header it earned."""
        import requests
        from flask import url_for

        with self.app.test_request_context():
            signin = self.web_url + url_for("auth.signin")
        with requests.Session() as session:
            page = session.get(signin, timeout=10)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
            if token is None:
                raise RuntimeError("no CSRF token on the sign-in page")
            answer = session.post(
                signin,
                data={"email": USER_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
                timeout=10,
                allow_redirects=False,
            )
            if answer.status_code != 302:
                raise RuntimeError(f"sign-in failed with HTTP {answer.status_code}")
            return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


@dataclass
class Project:
    """A copy of the project whose command line is timed, with its own worker and queue."""

    label: str
    root: Path
    queue: str
    worker: subprocess.Popen | None = None

    def env(self, bench: Bench) -> dict[str, str]:
        """The environment of its `flask` processes: the bench's services, its own queue.

        Its modules' bytecode is kept, as an installed or once-started copy has it, in the
        bench's folder (nothing is written into the copy): the first run writes it, the
        timed ones read it. Without, every process would compile the project anew.
        """
        env = {
            **worker_env(bench.config),
            "PYTHONPATH": str(self.root),
            "RQ_QUEUES": self.queue,
            "RUN_QUEUE": self.queue,
            "PYTHONPYCACHEPREFIX": str(bench.folder / f"bytecode-{self.queue}"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def flask(self, bench: Bench, *args: str, **kw: object) -> subprocess.Popen:
        """Start `flask ARGS` from this copy of the project."""
        return subprocess.Popen(
            [sys.executable, "-m", "flask", *args], cwd=self.root, env=self.env(bench), **kw
        )

    def start_worker(self, bench: Bench) -> None:
        """Start its `flask worker` and wait until it is idle on its queue."""
        from rq import Worker

        log = open(bench.folder / f"worker-{self.queue}.log", "w")  # noqa: SIM115
        self.worker = self.flask(
            bench, "worker", stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

        def idle() -> bool:
            workers = Worker.all(connection=bench.redis)
            return any(self.queue in w.queue_names() and w.get_state() == "idle" for w in workers)

        if not wait_until(idle, timeout=60, interval=0.1):
            raise RuntimeError(f"the worker of {self.label} did not start")

    def stop_worker(self) -> None:
        """Stop its worker (by its process group) if it still runs."""
        process, self.worker = self.worker, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """Measure a block: the list holds its seconds once the block ends."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)
