"""Benchmark: Benchgate's download() against curl + sha256sum on one big file over loopback.

Run from the project root:  python bench/fetch.py [--rounds 3] [--size-mib 1024]
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
TARGET_RATIO = 0.8
TARGET_EXTRA_MIB = 64

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


def run_child(program: str, *args: str) -> dict:
    """Run a Python child with the project importable; return the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", program, *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def run_benchgate(url: str, dest: Path, size: int) -> dict:
    """Download with Benchgate in a fresh process; return seconds, hash and peak RSS."""
    result = run_child(_DOWNLOAD_CHILD, url, str(dest), str(size))
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
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args()


def report(runs: dict[str, list[dict]], size_mib: int, idle_kib: int) -> bool:
    """Print the results table; return whether both targets were met."""
    bench, curl = runs["benchgate"], runs["curl+sha256sum"]
    bench_s = statistics.median(r["seconds"] for r in bench)
    curl_s = statistics.median(r["seconds"] for r in curl)
    bare_s = statistics.median(r["seconds"] for r in runs["curl alone"])
    ratio = curl_s / bench_s
    extra_mib = (max(r["peak_kib"] for r in bench) - idle_kib) / 1024
    print(f"\n{size_mib} MiB over loopback, {len(bench)} rounds each (medians)")
    print("(benchgate: the download() call in its own process; curl: the whole commands)")
    print(f"{'tool':<22}{'seconds':>10}{'MiB/s':>10}")
    print(f"{'benchgate download()':<22}{bench_s:>10.3f}{size_mib / bench_s:>10.0f}")
    print(f"{'curl + sha256sum':<22}{curl_s:>10.3f}{size_mib / curl_s:>10.0f}")
    print(f"{'curl alone (no hash)':<22}{bare_s:>10.3f}{size_mib / bare_s:>10.0f}")
    ratio_ok = ratio >= TARGET_RATIO
    memory_ok = extra_mib <= TARGET_EXTRA_MIB
    print(f"throughput ratio benchgate/curl: {ratio:.2f}x (target >= {TARGET_RATIO}x)", end=" ")
    print("met" if ratio_ok else "MISSED")
    print(f"peak extra memory: {extra_mib:.1f} MiB (target <= {TARGET_EXTRA_MIB} MiB)", end=" ")
    print("met" if memory_ok else "MISSED")
    print(f"for context, benchgate/curl-alone throughput: {bare_s / bench_s:.2f}x")
    return ratio_ok and memory_ok


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
        for round_number in range(1, args.rounds + 1):
            # Alternating spreads any drift of the machine over all tools alike.
            runs["benchgate"].append(run_benchgate(url, workdir / "benchgate.out", size))
            runs["curl+sha256sum"].append(run_curl(url, workdir / "curl.out"))
            runs["curl alone"].append(run_curl(url, workdir / "curl.out", hash_it=False))
            timings = ", ".join(f"{name} {r[-1]['seconds']:.3f} s" for name, r in runs.items())
            print(f"round {round_number}: {timings}")
        server.shutdown()
        server.server_close()
        if any(r["sha256"] != expected for r in runs["benchgate"] + runs["curl+sha256sum"]):
            print("hash mismatch: a tool returned the wrong SHA-256")
            return 1
        met = report(runs, args.size_mib, idle_kib)
        return 0 if met or not args.strict else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
