"""Benchmark: how late a chatty container's log lines reach the browser, and whether all arrive.

Run from the project root:
  python bench/log_latency.py [--lines 100000] [--fill 2] [--rounds 1] [--before DIR]

A real run through a real `flask worker`; its model's infer loops in a busybox shell, each turn
printing in one write a line stamped with the container's reading of /proc/uptime and --fill
numbered lines more (more lines a second than a shell loop stamps on its own). Two clients
follow the run at once: an SSE client on /runs/<id>/events served by gunicorn (gthread), signed
in through the sign-in form, and a plain XREAD BLOCK reader of the run's Redis Stream. Arrival
times are taken as each chunk comes off the socket; parsing happens after the run, so the
clients stay light meanwhile. Side by side, the same loop under a plain `docker run` read from
its stdout shows what Docker itself costs on the same machine at the same time. --before DIR
also runs the chatty run through the worker of another copy of the project (e.g. `git archive
<commit>` unpacked in DIR), on its own queue, alternated in the same rounds. Needs a Docker
engine, redis-server, busybox-static.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Bench, Project, percentile
from _log_browser import PageWatcher, page_lines
from _log_clients import (
    RUN_DEADLINE_SECONDS,
    Arrivals,
    Line,
    first_of_each_tick,
    follow_sse,
    follow_xread,
    integrity,
    ordinal_of,
    sse_lines,
    xread_lines,
)

from app.settings import reconfigure

TARGET_P95_MS = 20.0
TARGET_RATE = 30_000  # lines/s the target holds up to
PAGE_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Shape:
    """What the chatty container prints: `turns` stamped lines, each with `fill` more."""

    turns: int
    fill: int


def chatty_loop(turns: int, fill: int) -> str:
    """A busybox shell loop: per turn `L <turn> <uptime>` and `F <turn> <k>` for k in 1..fill.

    /proc/uptime is CLOCK_BOOTTIME floored to centiseconds: the shared clock a FROM-scratch
    busybox shell can read without forking (busybox date has no %N, and a fork per line
    would slow the container far more than the read does).
    """
    fillers = "".join(f"\nF $i {k}" for k in range(1, fill + 1))
    return (
        f"i=0; while [ $i -lt {turns} ]; do i=$((i + 1)); read up rest < /proc/uptime; "
        f'printf "L $i $up{fillers}\n"; done'
    )


def chatty_infer(turns: int, fill: int) -> list[str]:
    """The model's infer command: the chatty loop, then the usual inference."""
    script = chatty_loop(turns, fill) + '; sh /app/infer.sh "$1" "$2"'
    return ["sh", "-c", script, "chatty", "/mlcube_io0", "/mlcube_io1"]


def boottime_offset() -> float:
    """Return wall clock minus CLOCK_BOOTTIME, from the tightest of several paired readings."""
    best: tuple[float, float] | None = None
    for _ in range(200):
        before = time.time()
        boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        after = time.time()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) / 2 - boot)
    assert best is not None
    return best[1]


def by_hand(turns: int, fill: int) -> list[float]:
    """Run the same chatty loop with `docker run`, reading its stdout here line by line.

    Returns the print-to-read latency, in seconds, of each turn's line that is the first
    of a clock tick (see first_of_each_tick).
    """
    offset = boottime_offset()
    command = [
        *("docker", "run", "--rm", "--network", "none", "--init", "--read-only"),
        *("--log-driver", "none"),
        *("--cap-drop", "ALL", "--user", "65534:65534", "benchgate-test/model:latest"),
        *("sh", "-c", chatty_loop(turns, fill)),
    ]
    lines: list[Line] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            arrival = time.time()
            known = ordinal_of(raw.decode().rstrip("\n"), fill)
            if known is not None:
                lines.append(Line(*known, worker=arrival, added=arrival, arrival=arrival))
    if process.returncode != 0:
        raise RuntimeError(f"the by-hand docker run failed with exit code {process.returncode}")
    problems = {k: v for k, v in integrity(lines, turns * (fill + 1)).items() if k != "received"}
    if any(problems.values()):
        raise RuntimeError(f"the by-hand docker run's output was not whole: {problems}")
    return [line.arrival - (line.stamp + offset) for line in first_of_each_tick(lines)]


def run_once(
    bench: Bench,
    model_url: str,
    shape: Shape,
    cookie: str,
    queue: str = "default",
    watcher: PageWatcher | None = None,
) -> dict[str, Any]:
    """One run followed by every client; return their lines, the clock offset and the run."""
    from flask import url_for

    from app.extensions import db
    from app.models import Run
    from app.services.run_events import events_key
    from app.services.runs import create_run

    offset_before = boottime_offset()
    reconfigure(bench.app, RUN_QUEUE=queue)  # whose worker takes it
    run = create_run(
        bench.user,
        slots=bench.trio_slots(model_config_url=model_url),
        demo_url=bench.links["demo"],
        demo_sha256=bench.hashes["demo"],
    )
    with bench.app.test_request_context():
        path = url_for("runs.events", run_id=run.id)
        page_url = bench.web_url + url_for("runs.detail", run_id=run.id)
    port = int(bench.web_url.rsplit(":", 1)[1])
    sse, xread, page = Arrivals(), Arrivals(), Arrivals()
    threads = [
        threading.Thread(target=follow_sse, args=("127.0.0.1", port, path, cookie, sse)),
        threading.Thread(
            target=follow_xread, args=(bench.config["REDIS_URL"], events_key(run.id), xread)
        ),
    ]
    page_done = watcher.watch(page_url, shape.turns, page) if watcher else None
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_DEADLINE_SECONDS + 30)
    if watcher is not None and page_done is not None:
        # The page shows the last lines soon after the SSE client got them, or never (a page
        # that fell behind keeps only its newest lines): wait a little, then stop looking.
        page_done.wait(PAGE_GRACE_SECONDS)
        watcher.enough()
        page_done.wait(30)
    offset = (offset_before + boottime_offset()) / 2
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    for client in (sse, xread, page):
        if client.error:
            raise RuntimeError(client.error + "\n" + bench.worker_log()[-3000:])
    infer = next(step for step in run.steps if step.name == "infer")
    return {
        "status": run.status.value,
        "summary": run.failure_summary,
        "infer_seconds": infer.duration_seconds,
        "offset": offset,
        "sse": sse_lines(sse, shape.fill),
        "xread": xread_lines(xread, shape.fill),
        "page": page_lines(page, shape.fill),
        "page_opened_at": page.opened_at,
    }


def _ms(values: list[float]) -> str:
    cells = [percentile(values, q) * 1000 for q in (0.5, 0.95, 0.99)]
    cells.append(max(values) * 1000)
    return "".join(f"{cell:>9.1f}" for cell in cells)


def report(results: list[dict[str, Any]], turns: int, fill: int) -> tuple[bool, float]:
    """Print latencies and integrity; return whether the target was met and the p95."""
    sse = [line for r in results for line in r["sse"]]
    xread = [line for r in results for line in r["xread"]]
    ticks = [(line, r["offset"]) for r in results for line in first_of_each_tick(r["sse"])]
    end_to_end = [line.arrival - (line.stamp + offset) for line, offset in ticks]
    hand = [latency for r in results for latency in r["by_hand"]]
    rows = [
        ("by hand: print -> docker CLI reader*", hand),
        ("print -> SSE client (end to end)*", end_to_end),
        ("print -> worker read*", [line.worker - (line.stamp + off) for line, off in ticks]),
        ("worker read -> XADD (batching)**", [line.added - line.worker for line in sse]),
        ("XADD -> SSE client**", [line.arrival - line.added for line in sse]),
        ("worker read -> SSE client", [line.arrival - line.worker for line in sse]),
        ("worker read -> XREAD client", [line.arrival - line.worker for line in xread]),
    ]
    page = _page_latencies(results)
    if page:
        rows.insert(2, ("print -> page written (Chromium)*", page))
    lines = turns * (fill + 1)
    print(f"\nlatency of {lines} lines x {len(results)} run(s), milliseconds")
    print(f"{'measure':<36}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    for name, values in rows:
        print(f"{name:<36}{_ms(values)}")
    print(
        f"* from the print of each turn's line that is the first of a 10 ms clock tick "
        f"({len(end_to_end)} lines here, {len(hand)} by hand); all lines below"
    )
    print("** the XADD time is the stream entry id: Redis's clock in whole milliseconds")
    totals = _integrity_table(results, lines)
    rates = []
    for number, r in enumerate(results, 1):
        stamped = [line for line in r["sse"] if line.stamp is not None]
        first, last = stamped[0], stamped[-1]
        rates.append((last.ordinal - first.ordinal) / max(last.stamp - first.stamp, 0.01))
        print(
            f"run {number}: {r['status']}, infer step {r['infer_seconds']:.1f} s, "
            f"container printed ~{rates[-1]:,.0f} lines/s"
        )
    p95 = percentile(end_to_end, 0.95) * 1000
    p95_worker = percentile(dict(rows)["worker read -> SSE client"], 0.95) * 1000
    p95_hand = percentile(hand, 0.95) * 1000
    clean = all(not (c["lost"] or c["repeated"] or c["out of order"]) for c in totals.values())
    met = p95 <= TARGET_P95_MS and clean and all(r["status"] == "passed" for r in results)
    print(f"p95 ratio benchgate end to end / by hand: {p95 / p95_hand:.1f}x")
    print(
        f"verdict: end-to-end p95 {p95:.1f} ms (worker-to-browser p95 {p95_worker:.1f} ms), "
        f"{totals['SSE']['lost']} lost, {totals['SSE']['out of order']} out of order, at up to "
        f"{max(rates):,.0f} lines/s (target p95 <= {TARGET_P95_MS:.0f} ms, none lost or out of "
        f"order, up to {TARGET_RATE:,} lines/s): " + ("met" if met else "MISSED")
    )
    return met, p95


def _page_latencies(results: list[dict[str, Any]]) -> list[float]:
    """Print to page latencies of the first lines of ticks printed once the page was open."""
    latencies = []
    for r in results:
        for line in first_of_each_tick(r["page"]):
            printed = line.stamp + r["offset"]
            if printed >= r["page_opened_at"]:
                latencies.append(line.arrival - printed)
    return latencies


def _integrity_table(results: list[dict[str, Any]], lines: int) -> dict[str, dict[str, int]]:
    """Print and return, per client, the lines received, lost, repeated and out of order."""
    print(f"\n{'client':<12}{'received':>10}{'lost':>8}{'repeated':>10}{'out of order':>14}")
    totals: dict[str, dict[str, int]] = {"SSE": {}, "XREAD": {}}
    for r in results:
        for name, key in (("SSE", "sse"), ("XREAD", "xread")):
            for k, v in integrity(r[key], lines).items():
                totals[name][k] = totals[name].get(k, 0) + v
    for name, counts in totals.items():
        print(
            f"{name:<12}{counts['received']:>10}{counts['lost']:>8}{counts['repeated']:>10}"
            f"{counts['out of order']:>14}"
        )
    return totals


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lines", type=int, default=100_000, help="lines per run, about (default 100000)"
    )
    parser.add_argument(
        "--fill", type=int, default=2, help="unstamped lines per stamped one (default 2)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs (default 1)")
    parser.add_argument(
        "--browser", action="store_true", help="also time the run page in headless Chromium"
    )
    parser.add_argument("--before", type=Path, help="another copy of the project, run alike")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    return parser.parse_args()


def main() -> int:
    """Set everything up, follow --rounds chatty runs, print the latencies."""
    args = parse_args()
    turns = max(args.lines // (args.fill + 1), 1)
    shape = Shape(turns, args.fill)
    from tests.support.variants import model_config

    with Bench("benchgate-log-bench-") as bench:
        print("setting up: private Redis, SQLite, test images, assets, worker, gunicorn ...")
        bench.start_services(
            CONTAINER_TIMEOUT_SECONDS=float(RUN_DEADLINE_SECONDS),
            RQ_QUEUES="default,bench-before",
            # Far above what the chatty step prints: lines past a step's share of the log are
            # held until the step ends (workers.log_budget), which is not what is timed here.
            MAX_LOG_BYTES=2**30,
        )
        bench.start_worker()  # on the default queue
        before = watcher = None
        if args.before:
            before = Project(f"before ({args.before.name})", args.before.resolve(), "bench-before")
            before.start_worker(bench)
        try:
            bench.start_web()
            cookie = bench.session_cookie()
            if args.browser:
                watcher = PageWatcher(bench.web_url, cookie)
                watcher.start()
                if watcher.error:
                    raise RuntimeError(watcher.error)
            assert bench.assets is not None
            model_url = bench.assets.add_bytes(
                "/chatty-model/container_config.yaml", model_config(chatty_infer(turns, args.fill))
            )
            results: dict[str, list[dict[str, Any]]] = {"benchgate": []}
            if before:
                results[before.label] = []
            for number in range(1, args.rounds + 1):
                # Alternating which goes first spreads the machine's drift over all alike.
                hand = by_hand(turns, args.fill) if number % 2 == 0 else None
                ways = [("benchgate", "default")]
                if before:
                    ways.append((before.label, before.queue))
                if number % 2 == 0:
                    ways.reverse()
                for label, queue in ways:
                    result = run_once(bench, model_url, shape, cookie, queue, watcher)
                    if result["status"] != "passed":
                        print(f"run {number} ended {result['status']}: {result['summary']}")
                        print("worker log, last lines:\n" + bench.worker_log()[-3000:])
                        return 1
                    results[label].append(result)
                hand = hand if hand is not None else by_hand(turns, args.fill)
                for label in results:
                    results[label][-1]["by_hand"] = hand
                print(
                    f"round {number}: "
                    + ", ".join(
                        f"{label} {len(r[-1]['sse'])} lines over SSE"
                        for label, r in results.items()
                    )
                    + f"; {len(hand)} tick lines timed by hand"
                )
            p95s = {}
            for label, runs in results.items():
                print(f"\n=== {label}")
                met, p95s[label] = report(runs, turns, args.fill)
                if label == "benchgate":
                    met_after = met
            if before:
                print(
                    "\nend-to-end p95, after / before: "
                    f"{p95s['benchgate'] / p95s[before.label]:.2f}x"
                )
        finally:
            if watcher:
                watcher.stop()
            if before:
                before.stop_worker()
    return 0 if met_after or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
