"""A real Benchgate for browser tests: gunicorn and a worker as child processes."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.processes import PROJECT_ROOT, flask_command, worker_env
from tests.support.services import free_port, wait_until


class LivePortal:
    """Web server (gunicorn, threaded) and one `flask worker`, on the test's database."""

    def __init__(self, config: dict, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.port = free_port()
        self.processes: list[subprocess.Popen] = []
        self.mail = None  # the SMTP server its worker sends to, when a test gives one

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LivePortal:
        env = worker_env(self.config)
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "16",
            "--bind",
            f"127.0.0.1:{self.port}",
            "wsgi:app",
        ]
        self._spawn(web, env, "web.log")
        self._spawn(flask_command("worker"), env, "worker.log")
        if not wait_until(self._answers, timeout=30):
            self.stop()
            raise RuntimeError("the portal did not start: " + self.log("web.log")[-2000:])
        return self

    def _spawn(self, command: list[str], env: dict, log_name: str) -> None:
        with open(self.log_dir / log_name, "w") as log:
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def log(self, name: str) -> str:
        path = self.log_dir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
