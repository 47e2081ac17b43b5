"""Benchmark: the list pages under concurrent load on a PostgreSQL database of realistic size.

Run from the project root:  python bench/web_load.py [--seconds 15] [--clients 16]

It creates a PostgreSQL database of its own on the local server, migrates it, seeds a tenth
of the data, counts the SQL queries of each page in-process, seeds the rest, counts again,
then serves the app with gunicorn (gthread) and a private redis-server and sends 16 signed-in
clients at one page after another. The clients are wrk's connections (Debian's package wrk),
each sending its next request as soon as the last is answered; `--client python` uses Python
threads instead, which spend about a millisecond of the same two cores per request.

The pages keep what they render while the data is unchanged (app.services.page_cache), so an
idle database is their best case: `--changes-per-second N` moves the data version on N times a
second during the load, as workers' and members' writes do; `PAGE_CACHE_CHARS=0` in the
environment keeps nothing. Each page is judged against the sign-in form (no database), loaded
for `--reference-seconds` just before it: p95 at most 1.5 times the form's. Everything it
starts is stopped by pid, and the database is dropped at the end. Traffic goes only to
loopback. Needs Debian's wrk (for the default client), redis-server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from sqlalchemy import event

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/web_load.py`, only bench/ is on the path: app/ and tests/ must be too.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from _load import (  # noqa: E402
    CpuMeter,
    cookie_header,
    data_changes,
    hammer,
    signed_in,
    start_gunicorn,
    stop_process,
    wrk,
    wrk_available,
)
from _seed import ADMIN_ID, MEMBER_ID, Seeder  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Config  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402

# A page's p95 over the reference page's (the sign-in form, no database) in the same run.
TARGET_P95_RATIO = 1.5
SMALL_FRACTION = 0.1


@dataclass(frozen=True)
class Page:
    """One page of the load: a name for the table, its path, and who opens it."""

    name: str
    path: str
    admin: bool = False
    reference: bool = False  # shown for comparison, not held to the target


def pages(benchmark_id: int, containers: int) -> list[Page]:
    """The pages under test; benchmark_id is an approved benchmark with a history."""
    # The catalogue's middle page at either data size: page 200 of 400 at full size.
    middle = max(1, containers // (2 * Config.PAGE_SIZE))
    return [
        # The cheapest page of the same stack, no database: what the machine gives this run.
        Page("sign-in (reference)", "/account/signin", reference=True),
        Page("containers p1", "/containers/"),
        Page("containers middle", f"/containers/?page={middle}"),
        Page("containers role+q", "/containers/?role=model&q=chest"),
        Page("review queue", "/admin/review/", admin=True),
        Page("runs (member)", "/runs/"),
        Page("runs all (admin)", "/runs/?all=1", admin=True),
        Page("benchmark page", f"/benchmarks/{benchmark_id}"),
        Page("benchmarks", "/benchmarks/"),
    ]


@dataclass
class Measured:
    """What one page got: query counts per data size, service time, and the load's latencies."""

    queries: dict[str, int] = field(default_factory=dict)
    service_ms: float = 0.0
    requests: int = 0
    percentiles: dict[float, float] = field(default_factory=dict)  # fraction -> ms
    errors: int = 0
    seconds: float = 0.0
    bytes_per_request: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per request, by consumer
    reference_p95: float = float("nan")  # the reference page's, measured just before this one


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile (fraction in 0..1) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


# The database


@contextmanager
def private_database() -> Iterator[str]:
    """Create a database of our own on the local server; yield its name; drop it at the end."""
    name = f"benchgate_load_{secrets.token_hex(4)}"
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with psycopg.connect("dbname=postgres", autocommit=True) as admin:
            # FORCE ends the sessions gunicorn may still hold: all of them on this database only.
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate(env: dict[str, str]) -> None:
    """Build the schema the way production does: `flask db upgrade`."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError("flask db upgrade failed:\n" + done.stderr[-3000:])


def first_approved_benchmark(dbname: str) -> int:
    """Return the id of the first approved benchmark (it exists at both data sizes)."""
    with psycopg.connect(f"dbname={dbname}") as conn:
        row = conn.execute("SELECT min(id) FROM benchmarks WHERE status = 'approved'").fetchone()
    return row[0]


# Counting queries in-process


def _session_token(app, user_id: int) -> str:
    """Open a signed-in session for an account, as the sign-in form does; return its token."""
    from app.models import User
    from app.services.sessions import open_session

    with app.test_request_context():
        user = db.session.get(User, user_id)
        open_session(user)
        return user.session_token


def count_queries(config: dict, page_list: list[Page], label: str, out: dict[str, Measured]):
    """Open each page with the Flask test client and count the SQL statements it sends."""
    app = create_app(config)
    with app.app_context():
        engine = db.engine
    tokens = {user_id: _session_token(app, user_id) for user_id in (ADMIN_ID, MEMBER_ID)}
    counter = {"n": 0}

    def on_execute(*_args: object) -> None:
        counter["n"] += 1

    # No app context stays pushed around the requests: each request gets its own, as under
    # gunicorn, so neither the session's identity map nor `g` carries over between them.
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        for page in page_list:
            client = app.test_client()
            if not page.reference:  # the reference page is the sign-in form: nobody signed in
                with client.session_transaction() as session:
                    session["_user_id"] = tokens[ADMIN_ID if page.admin else MEMBER_ID]
                    session["_fresh"] = True
            client.get(page.path)  # warms caches that a long-running server has warm
            counter["n"] = 0
            answer = client.get(page.path)
            if answer.status_code != 200:
                raise RuntimeError(f"{page.path} answered {answer.status_code} in-process")
            out[page.name].queries[label] = counter["n"]
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                client.get(page.path)
                timings.append((time.perf_counter() - started) * 1000)
            out[page.name].service_ms = statistics.median(timings)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        engine.dispose()
        app.extensions["redis"].close()


# Serving


def load(
    base: str,
    page_list: list[Page],
    args: argparse.Namespace,
    out: dict[str, Measured],
    meter: CpuMeter,
) -> None:
    """Sign in, then load each page in turn with all the clients."""
    members = [signed_in(base, f"user{MEMBER_ID}@example.org") for _ in range(args.clients)]
    admins = [signed_in(base, f"user{ADMIN_ID}@example.org") for _ in range(args.clients)]
    anonymous = [requests.Session() for _ in range(args.clients)]
    reference = next(page for page in page_list if page.reference)
    try:
        for page in page_list:
            sessions = anonymous if page.reference else admins if page.admin else members
            cookie = cookie_header(sessions[0])
            url = base + page.path
            # Unmeasured warm-up: pools fill, templates compile, PostgreSQL caches the pages.
            if args.client == "wrk":
                wrk(url, cookie, args.clients, 2.0)
            else:
                hammer(sessions, url, 2.0, len(sessions) * 2)
            measured = out[page.name]
            if not page.reference:
                # The machine is shared: the page's yardstick is the reference page measured
                # right before it, not at the start of the run.
                paired = Measured()
                _measure(paired, anonymous, base + reference.path, args, args.reference_seconds)
                measured.reference_p95 = paired.percentiles[0.95]
            before = meter.snapshot()
            _measure(measured, sessions, url, args, args.seconds)
            if page.reference:
                measured.reference_p95 = measured.percentiles[0.95]
            spent = CpuMeter.spent(before, meter.snapshot())
            done = max(1, measured.requests + measured.errors)
            measured.cpu_ms = {key: value * 1000 / done for key, value in spent.items()}
            print(
                f"  {page.name:<20} {measured.requests:>6} requests in {measured.seconds:5.1f} s"
                f", p95 {measured.percentiles[0.95]:.1f} ms (reference just before: "
                f"{measured.reference_p95:.1f} ms)",
                flush=True,
            )
    finally:
        for session in members + admins + anonymous:
            session.close()


def _measure(
    measured: Measured,
    sessions: list[requests.Session],
    url: str,
    args: argparse.Namespace,
    seconds: float,
) -> None:
    """Load url with all the clients for seconds; fill in what measured got."""
    if args.client == "wrk":
        result = wrk(url, cookie_header(sessions[0]), args.clients, seconds)
        measured.requests, measured.errors = result.requests, result.errors
        measured.seconds, measured.bytes_per_request = result.seconds, result.bytes_per_request
        measured.percentiles = {0.5: result.p50, 0.95: result.p95, 0.99: result.p99}
    else:
        latencies, errors, took = hammer(sessions, url, seconds, args.requests)
        measured.requests, measured.errors, measured.seconds = len(latencies), errors, took
        measured.percentiles = {f: percentile(latencies, f) for f in (0.5, 0.95, 0.99)}


# Report


def report(out: dict[str, Measured], small: str, full: str, args: argparse.Namespace) -> bool:
    """Print the tables and the verdict; return whether every target was met."""
    print(
        f"\n{'page':<22}{'q@' + small:>7}{'q@' + full:>7}{'alone':>8}"
        f"{'p50':>8}{'p95':>8}{'p99':>8}{'ref':>7}{'ratio':>7}{'req/s':>7}{'KB':>6}{'errors':>7}"
        "  verdict"
    )
    all_met = True
    for name, m in out.items():
        steady = m.queries.get(small) == m.queries.get(full)
        p50, p95, p99 = (m.percentiles.get(f, float("nan")) for f in (0.5, 0.95, 0.99))
        ratio = p95 / m.reference_p95
        rate = m.requests / m.seconds if m.seconds else 0.0
        fast = m.requests > 0 and ratio <= TARGET_P95_RATIO and m.errors == 0
        missed = [what for what, ok in (("p95", fast), ("queries grow", steady)) if not ok]
        if name.endswith("(reference)"):
            verdict = "reference, no target"
        else:
            all_met &= steady and fast
            verdict = "MISSED: " + ", ".join(missed) if missed else "met"
        print(
            f"{name:<22}{m.queries.get(small, -1):>7}{m.queries.get(full, -1):>7}"
            f"{m.service_ms:>8.1f}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}{m.reference_p95:>7.1f}{ratio:>6.2f}x{rate:>7.0f}"
            f"{m.bytes_per_request / 1024:>6.1f}{m.errors:>7}  {verdict}"
        )
    print(
        "\nq@: SQL statements per page at each data size; alone: ms for one request at a "
        "time, in-process (median of 5); p50/p95/p99: ms at the client, under load; ref: "
        f"the reference page's p95, measured for {args.reference_seconds:g} s just before the "
        "page; ratio: p95 over ref; "
        f"KB: size of each answer, headers included (wrk only); clients: {args.client}"
    )
    cores = os.cpu_count() or 1
    print(f"\nCPU ms per request ({cores} cores; 'other' is the rest of the machine)")
    print(f"{'page':<22}{'web':>7}{'db':>7}{'client':>8}{'other':>7}{'max req/s':>11}{'floor':>8}")
    for name, m in out.items():
        cpu = m.cpu_ms
        own = cpu.get("web", 0) + cpu.get("db", 0) + cpu.get("client", 0)
        # With the cores to ourselves, this is the most these requests could go through;
        # a closed loop of N clients then waits at least N / rate on average (Little's law).
        ceiling = cores * 1000 / own if own else float("inf")
        print(
            f"{name:<22}{cpu.get('web', 0):>7.1f}{cpu.get('db', 0):>7.1f}"
            f"{cpu.get('client', 0):>8.1f}{cpu.get('other', 0):>7.1f}{ceiling:>11.0f}"
            f"{args.clients * 1000 / ceiling:>7.0f}ms"
        )
    print(
        f"floor: the mean latency {args.clients} clients without pause cannot beat, "
        "even with the whole machine"
    )
    print(
        f"targets: p95 <= {TARGET_P95_RATIO}x the reference page's p95 just before it, on "
        "every page, no errors; the same number of queries at "
        "both data sizes"
    )
    print("verdict:", "every target met" if all_met else "some targets MISSED")
    return all_met


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="load per page (default 15)")
    parser.add_argument(
        "--reference-seconds",
        type=float,
        default=None,
        help="load on the reference page before each page, its yardstick (default --seconds)",
    )
    parser.add_argument("--requests", type=int, default=None, help="cap per page (default none)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=0,
        help="connections a worker holds at most (default twice its threads)",
    )
    parser.add_argument(
        "--changes-per-second",
        type=float,
        default=0.0,
        help="writes moving the data version on during the load, as workers' would (0)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="data size, 1 = full (1)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk",
        help="load generator: wrk (default) or Python threads, which share the cores",
    )
    return parser.parse_args()


def timed(label: str, action: Callable[[], object]) -> object:
    """Run action, print how long it took, return its result."""
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def main() -> int:
    """Set up, seed, count, load, report, tear down."""
    args = parse_args()
    # As long as the page's own load, so that both have the same chance of a slow moment.
    args.reference_seconds = args.reference_seconds or args.seconds
    if args.client == "wrk" and not wrk_available():
        print("wrk is not installed: apt-get install wrk, or use --client python", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="benchgate-load-")))
        dbname = stack.enter_context(private_database())
        redis = RedisServer(folder / "redis").start()
        stack.callback(redis.stop)
        config = {
            "SECRET_KEY": secrets.token_hex(16),
            "DATABASE_URL": f"postgresql:///{dbname}",
            "REDIS_URL": redis.url,
            "WORK_DIR": str(folder / "work"),
            # Plain HTTP on loopback: Secure cookies would never come back from the clients.
            "COOKIES_SECURE": "0",
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        env.update({key: str(value) for key, value in config.items()}, FLASK_APP="wsgi")
        timed("flask db upgrade", lambda: migrate(env))

        seeder = Seeder(f"dbname={dbname}")
        small = f"{SMALL_FRACTION * args.scale:.0%}"
        full = f"{args.scale:.0%}"
        counts = timed(f"seed {small}", lambda: seeder.seed_to(SMALL_FRACTION * args.scale))
        print("  ", counts)
        page_list = pages(first_approved_benchmark(dbname), counts["containers"])
        out = {page.name: Measured() for page in page_list}
        count_queries(config, page_list, small, out)
        counts = timed(f"seed {full}", lambda: seeder.seed_to(args.scale))
        print("  ", counts)
        page_list = pages(first_approved_benchmark(dbname), counts["containers"])
        count_queries(config, page_list, full, out)

        connections = args.worker_connections or 2 * args.threads
        process, base = start_gunicorn(
            env, args.workers, args.threads, connections, folder / "gunicorn.log"
        )
        stack.callback(stop_process, process)
        print(
            f"load: {args.clients} clients, gunicorn gthread {args.workers} workers x "
            f"{args.threads} threads, at most {connections} connections per worker, "
            f"{args.seconds:g} s per page, data version moved on "
            f"{args.changes_per_second:g} times a second; load average before: "
            + " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            flush=True,
        )
        with data_changes(dbname, args.changes_per_second):
            load(base, page_list, args, out, CpuMeter(process.pid, dbname))
        met = report(out, small, full, args)
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
