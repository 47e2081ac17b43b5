"""Benchmark: the list pages under concurrent load on a PostgreSQL database of realistic size.

Run from the project root:  python bench/web_load.py [--rounds 10] [--seconds 1] [--clients 16]

It creates a PostgreSQL database of its own on the local server, migrates it, seeds a tenth
of the data, counts the SQL queries of each page in-process, seeds the rest, counts again,
then serves the app with gunicorn (gthread) and a private redis-server and sends 16 signed-in
clients at one page after another. The clients are wrk's connections (Debian's package wrk),
each sending its next request as soon as the last is answered; `--client python` uses Python
threads instead, which spend about a millisecond of the same two cores per request.

The pages keep what they render while the data is unchanged (app.services.page_cache), so an
idle database is their best case. Both cases are measured in one invocation (`--mode both`,
the default): "kept", the database unchanged, then "moving", the data version moved on
`--changes-per-second` times a second (20) during the load, as workers' and members' writes
do; `PAGE_CACHE_CHARS=0` in the environment keeps nothing. Each page is judged against the
sign-in form (no database): in each of `--rounds` rounds both are loaded for `--seconds`,
one right after the other; the page's ratio is the median of the rounds' p95 ratios, at most
1.5. Everything it starts is stopped by pid, and the database is dropped at the end. Traffic
goes only to loopback. Needs Debian's wrk (for the default client), redis-server and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Run as `python bench/web_load.py`, only bench/ is on the path: app/ and tests/ must be too.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from _load import (  # noqa: E402
    CpuMeter,
    data_changes,
    start_gunicorn,
    stop_process,
    wrk_available,
)
from _seed import Seeder  # noqa: E402
from _web_measure import Clients, measure_mode, pages  # noqa: E402
from _web_report import report_mode, report_queries, report_summary  # noqa: E402
from _web_setup import (  # noqa: E402
    count_queries,
    first_approved_benchmark,
    migrate,
    private_database,
)

from app.config import Config  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402

SMALL_FRACTION = 0.1
MODES = {"both": ("kept", "moving"), "kept": ("kept",), "moving": ("moving",)}


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds per page and mode (10)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="load of the page, and of the reference, per round (1)",
    )
    parser.add_argument("--warm-up", type=float, default=1.0, help="unmeasured, per page (1)")
    parser.add_argument("--requests", type=int, default=None, help="cap per slice, python client")
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
        "--mode",
        choices=tuple(MODES),
        default="both",
        help="kept (database unchanged), moving (version moved on), or both (default)",
    )
    parser.add_argument(
        "--changes-per-second",
        type=float,
        default=20.0,
        help="in the moving mode, how often the data version moves on, as writes do (20)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="data size, 1 = full (1)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk",
        help="load generator: wrk (default) or Python threads, which share the cores",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds < 1 or args.clients < 1:
        parser.error("--rounds, --seconds and --clients must be at least 1")
    return args


def timed(label: str, action: Callable[[], object]) -> object:
    """Run action, print how long it took, return its result."""
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def main() -> int:
    """Set up, seed, count, load in each mode, report, tear down."""
    args = parse_args()
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
        small, full = f"{SMALL_FRACTION * args.scale:.0%}", f"{args.scale:.0%}"
        queries: dict = {}
        alone_ms: dict = {}
        for label, fraction in ((small, SMALL_FRACTION * args.scale), (full, args.scale)):
            counts = timed(f"seed {label}", lambda f=fraction: seeder.seed_to(f))
            print("  ", counts)
            page_list = pages(
                first_approved_benchmark(dbname), counts["containers"], Config.PAGE_SIZE
            )
            count_queries(config, page_list, label, queries, alone_ms)

        connections = args.worker_connections or 2 * args.threads
        process, base = start_gunicorn(
            env, args.workers, args.threads, connections, folder / "gunicorn.log"
        )
        stack.callback(stop_process, process)
        clients = Clients(base, args.clients)
        stack.callback(clients.close)
        meter = CpuMeter(process.pid, dbname)
        results = {}
        for mode in MODES[args.mode]:
            rate = args.changes_per_second if mode == "moving" else 0.0
            name = f"{mode}, {rate:g} changes/s" if rate else f"{mode}, unchanged"
            print(
                f"{name}: {args.clients} clients, gunicorn gthread {args.workers} workers x "
                f"{args.threads} threads, at most {connections} connections per worker, "
                f"{args.rounds} rounds of {args.seconds:g} s + {args.seconds:g} s per page; "
                "load average: " + " ".join(Path("/proc/loadavg").read_text().split()[:3]),
                flush=True,
            )
            with data_changes(dbname, rate):
                results[name] = measure_mode(base, page_list, clients, args, meter)
        steady = report_queries(queries, alone_ms, small, full)
        for name, out in results.items():
            report_mode(name, out, args)
        met = report_summary(results, steady)
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
