"""Benchmark: Benchgate's download() against curl alone on one big file over loopback.

Run from the project root:  python bench/fetch.py [--rounds 3] [--size-mib 1024] [--before DIR]
Needs curl, sha256sum and sync (coreutils). --before DIR also times the download() of another copy
of the project (e.g. `git archive <commit>` unpacked in DIR), alternated in the same rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
# Benchgate's seconds over curl's alone (no hashing), and its memory above an idle process.
TARGET_RATIO = 1.2
TARGET_EXTRA_MIB = 32

# Both child programs import the same modules, so their memory differs only by the download.
_CHILD_PRELUDE = """
import json, sys, time
from pathlib import Path
from workers.fetch import FetchPolicy, download

def peak_rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")
"""

_DOWNLOAD_CHILD = (
    _CHILD_PRELUDE
    + """
url, dest, size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
policy = FetchPolicy(allowed_hosts=("127.0.0.1",))
started = time.perf_counter()
digest = download(url, dest, max_bytes=size, policy=policy)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "sha256": digest, "peak_kib": peak_rss_kib()}))
"""
)

_IDLE_CHILD = _CHILD_PRELUDE + '\nprint(json.dumps({"peak_kib": peak_rss_kib()}))\n'


class _SendfileHandler(http.server.BaseHTTPRequestHandler):
    """Serve the one benchmark file with the kernel's sendfile, so the server is not the limit."""

    served: Path

    def do_GET(self) -> None:
        with open(self.served, "rb") as source:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(os.fstat(source.fileno()).st_size))
            self.end_headers()
            try:
                self.request.sendfile(source)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_file(path: Path, size_mib: int) -> str:
    """Write size_mib MiB of incompressible data to path; return its SHA-256."""
    digest = hashlib.sha256()
    block = bytearray(os.urandom(MIB))
    with open(path, "wb") as out:
        for index in range(size_mib):
            # Vary every block so nothing on the way can take shortcuts on repeats.
            block[:8] = index.to_bytes(8, "little")
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def start_server(served: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve served on a free loopback port in a background thread; return server and link."""
    handler = type("Handler", (_SendfileHandler,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{served.name}"


def run_child(program: str, *args: str, root: Path = PROJECT_ROOT) -> dict:
    """Run a Python child with the project at root importable; return the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", program, *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def run_benchgate(url: str, dest: Path, size: int, root: Path = PROJECT_ROOT) -> dict:
    """Download with Benchgate in a fresh process; return seconds, hash and peak RSS."""
    result = run_child(_DOWNLOAD_CHILD, url, str(dest), str(size), root=root)
    dest.unlink()
    return result


def run_curl(url: str, dest: Path, *, hash_it: bool = True) -> dict:
    """Download with curl, then hash with sha256sum; return seconds and hash."""
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-o", str(dest), url], check=True)
    digest = None
    if hash_it:
        done = subprocess.run(["sha256sum", str(dest)], check=True, capture_output=True, text=True)
        digest = done.stdout.split()[0]
    seconds = time.perf_counter() - started
    dest.unlink()
    return {"seconds": seconds, "sha256": digest}


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each tool (default 3)")
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--before", type=Path, help="another copy of the project, timed alike")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args()


def _line(name: str, seconds: float, size_mib: int, bare_s: float) -> None:
    ratio = seconds / bare_s
    print(f"{name:<26}{seconds:>10.3f}{size_mib / seconds:>8.0f}{ratio:>14.2f}x")


def report(runs: dict[str, list[dict]], size_mib: int, idle_kib: int) -> bool:
    """Print the results table; return whether both targets were met."""
    medians = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    bare_s = medians["curl alone"]
    print(f"\n{size_mib} MiB over loopback, {len(runs['curl alone'])} rounds each (medians)")
    print("(benchgate: the download() call in its own process; curl: the whole commands)")
    print(f"{'tool':<26}{'seconds':>10}{'MiB/s':>8}{'vs curl alone':>15}")
    for name, seconds in medians.items():
        _line(name, seconds, size_mib, bare_s)
    met = True
    for name in [n for n in runs if n.startswith("benchgate")]:
        # The median of each round's own ratio: the tools of one round saw the same machine.
        pairs = zip(runs[name], runs["curl alone"], strict=True)
        ratio = statistics.median(mine["seconds"] / bare["seconds"] for mine, bare in pairs)
        extra_mib = (max(r["peak_kib"] for r in runs[name]) - idle_kib) / 1024
        ratio_ok = ratio <= TARGET_RATIO
        memory_ok = extra_mib <= TARGET_EXTRA_MIB
        print(
            f"{name}: {ratio:.2f}x curl alone, median of the rounds' ratios "
            f"(target <= {TARGET_RATIO}x) "
            f"{'met' if ratio_ok else 'MISSED'}; peak extra memory {extra_mib:.1f} MiB "
            f"(target <= {TARGET_EXTRA_MIB} MiB) {'met' if memory_ok else 'MISSED'}"
        )
        if name == "benchgate":
            met = ratio_ok and memory_ok
    for name in [n for n in runs if n.startswith("benchgate (before")]:
        pairs = zip(runs["benchgate"], runs[name], strict=True)
        ratio = statistics.median(after["seconds"] / was["seconds"] for after, was in pairs)
        print(f"after / before: {ratio:.2f}x the time (median of the rounds' ratios)")
    return met


def main() -> int:
    """Run the benchmark and print the table."""
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="benchgate-fetch-bench-"))
    try:
        served = workdir / "big.bin"
        expected = make_file(served, args.size_mib)
        server, url = start_server(served)
        size = args.size_mib * MIB
        idle_kib = run_child(_IDLE_CHILD)["peak_kib"]
        runs: dict[str, list[dict]] = {"benchgate": [], "curl+sha256sum": [], "curl alone": []}
        before = f"benchgate (before: {args.before.name})" if args.before else None
        if before:
            runs[before] = []
        tools = {
            "benchgate": lambda: run_benchgate(url, workdir / "benchgate.out", size),
            "curl+sha256sum": lambda: run_curl(url, workdir / "curl.out"),
            "curl alone": lambda: run_curl(url, workdir / "curl.out", hash_it=False),
        }
        if before:
            root = args.before.resolve()
            tools[before] = lambda: run_benchgate(url, workdir / "before.out", size, root=root)
        names = list(tools)
        for round_number in range(1, args.rounds + 1):
            # Alternating, in an order turning by one each round, spreads any drift of the
            # machine over all tools alike; each starts with no dirty pages left to write back.
            turn = (round_number - 1) % len(names)
            for name in names[turn:] + names[:turn]:
                subprocess.run(["sync"], check=True)
                runs[name].append(tools[name]())
            timings = ", ".join(f"{name} {r[-1]['seconds']:.3f} s" for name, r in runs.items())
            print(f"round {round_number}: {timings}")
        server.shutdown()
        server.server_close()
        hashed = [r for name, rs in runs.items() if name != "curl alone" for r in rs]
        if any(r["sha256"] != expected for r in hashed):
            print("hash mismatch: a tool returned the wrong SHA-256")
            return 1
        met = report(runs, args.size_mib, idle_kib)
        return 0 if met or not args.strict else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
