"""Load generation for bench/web_load.py: gunicorn, signed-in clients, CPU meters."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import psycopg
import requests
from _seed import PASSWORD

from tests.support.services import free_port, wait_until

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
USER_AGENT = "benchgate-load"


def start_gunicorn(
    env: dict[str, str], workers: int, threads: int, connections: int, log: Path
) -> tuple:
    """Start gunicorn (gthread) on a free loopback port; return the process and its link.

    `connections` caps the connections each worker holds, kept-alive ones included: without a
    cap, the first worker to wake takes most of the clients' persistent connections (14 of 16
    were seen on one worker) and serves them on one core while the other waits.
    """
    port = free_port()
    command = (
        f"-m gunicorn -k gthread --workers {workers} --threads {threads} "
        f"--worker-connections {connections}"
    ).split()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, *command, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(base + "/account/signin", timeout=1):
                return True
        except OSError:
            return False

    if not wait_until(answers, timeout=30, interval=0.1):
        stop_process(process)
        raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-2000:])
    return process, base


def stop_process(process: subprocess.Popen) -> None:
    """Stop a child we started in its own session: SIGTERM to its group, SIGKILL if stuck."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cookie_header(session: requests.Session) -> str:
    """The Cookie header a signed-in session sends."""
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def signed_in(base: str, email: str) -> requests.Session:
    """A requests session signed in through the real form, CSRF token included."""
    session = requests.Session()
    # One browser: Flask-Login marks a session not fresh when another user agent sends it.
    session.headers["User-Agent"] = USER_AGENT
    form = session.get(base + "/account/signin", timeout=10)
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    answer = session.post(
        base + "/account/signin",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed with HTTP {answer.status_code}")
    # Like a browser, follow to the next page: it shows (and so removes) the sign-in message.
    # wrk sends this session's cookie unchanged on every request; with the message still in it,
    # every page would show it again and send a new cookie.
    session.get(urljoin(answer.url, answer.headers["Location"]), timeout=10)
    return session


# CPU accounting


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used, or 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def machine_busy_seconds() -> float:
    """Return the CPU seconds every process on the machine has used since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])  # idle, iowait
    return (sum(int(f) for f in fields[:8]) - idle) / TICK


@dataclass
class CpuMeter:
    """Who spends the CPU during a phase: gunicorn, our PostgreSQL sessions, the clients."""

    gunicorn_pid: int
    dbname: str

    def _gunicorn(self) -> dict[int, float]:
        try:
            children = Path(f"/proc/{self.gunicorn_pid}/task/{self.gunicorn_pid}/children")
            pids = [self.gunicorn_pid, *map(int, children.read_text().split())]
        except OSError:
            pids = [self.gunicorn_pid]
        return {pid: cpu_seconds(pid) for pid in pids}

    def _postgres(self) -> dict[int, float]:
        # Only the server processes serving our own database.
        with psycopg.connect(f"dbname={self.dbname}") as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            ).fetchall()
        return {pid: cpu_seconds(pid) for (pid,) in pids}

    def snapshot(self) -> dict[str, dict[int, float] | float]:
        """Read every counter now; the clients are this process and the children it waited for."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "web": self._gunicorn(),
            "db": self._postgres(),
            "client": time.process_time() + children.ru_utime + children.ru_stime,
            "machine": machine_busy_seconds(),
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds used between two snapshots, by consumer; `other` is the rest."""
        used: dict[str, float] = {}
        for key in ("web", "db"):
            used[key] = sum(v - before[key].get(pid, 0.0) for pid, v in after[key].items())
        used["client"] = after["client"] - before["client"]
        machine = after["machine"] - before["machine"]
        used["other"] = max(0.0, machine - sum(used.values()))
        return used


# Load


def hammer(
    clients: list[requests.Session], url: str, seconds: float, limit: int | None
) -> tuple[list[float], int, float]:
    """Every client requests url in a loop until time or count runs out; return the latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def take() -> bool:
        with lock:
            if limit is not None and sent[0] >= limit:
                return False
            sent[0] += 1
            return True

    def client_loop(session: requests.Session) -> None:
        while time.monotonic() < deadline and take():
            started = time.perf_counter()
            try:
                answer = session.get(url, timeout=30, allow_redirects=False)
                ok = answer.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client_loop, args=(s,)) for s in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0], time.perf_counter() - started


# The same load from wrk, a load generator in C


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"
WRK_LINE = re.compile(r"^WRK (.*)$", re.MULTILINE)


def wrk_available() -> bool:
    """Tell whether Debian's wrk is installed."""
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured; latencies in ms at the client."""

    requests: int
    seconds: float
    errors: int  # answers other than 200, and socket errors
    bytes_per_request: float
    p50: float
    p95: float
    p99: float
    max: float


def wrk(url: str, cookie: str, clients: int, seconds: float) -> WrkResult:
    """Run wrk: `clients` connections, each sending its next request when the last is answered."""
    command = [
        "wrk",
        f"--connections={clients}",
        f"--threads={min(2, clients)}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",
        f"--script={WRK_SCRIPT}",
        f"--header=User-Agent: {USER_AGENT}",
        *([f"--header=Cookie: {cookie}"] if cookie else []),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    found = WRK_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stdout[-500:]}{done.stderr[-500:]}"
        )
    fields = dict(item.split("=") for item in found.group(1).split())
    count = int(fields["requests"])
    return WrkResult(
        requests=count,
        seconds=float(fields["seconds"]),
        errors=int(fields["not_ok"]) + int(fields["socket_errors"]),
        bytes_per_request=int(fields["bytes"]) / max(1, count),
        p50=int(fields["p50_us"]) / 1000,
        p95=int(fields["p95_us"]) / 1000,
        p99=int(fields["p99_us"]) / 1000,
        max=int(fields["max_us"]) / 1000,
    )


@contextmanager
def data_changes(dbname: str, per_second: float) -> Iterator[None]:
    """Move the data version on per_second times a second while the block runs (0: never).

    This is what any write does to the pages kept under the version (app.services.page_cache):
    a worker recording a step, a member registering a container. Only the version row is
    written, so the pages' data stays the same size.
    """
    if per_second <= 0:
        yield
        return
    stop = threading.Event()

    def change() -> None:
        with psycopg.connect(f"dbname={dbname}", autocommit=True) as conn:
            while not stop.wait(1 / per_second):
                conn.execute("UPDATE data_version SET version = version + 1")

    thread = threading.Thread(target=change, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
