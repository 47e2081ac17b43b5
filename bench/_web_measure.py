"""Measuring for bench/web_load.py: the pages, and each page alternated with the reference.

The machine is shared, so a page is never compared with a reference measured long before or
after it. Each page is loaded in several short rounds, each round the reference (the sign-in
form, no database) and the page one right after the other, in turns of order; a round gives
one ratio, page p95 over reference p95, and the page's figure is the median of its rounds'.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

import requests
from _load import CpuMeter, cookie_header, hammer, signed_in, wrk
from _seed import ADMIN_ID, MEMBER_ID


@dataclass(frozen=True)
class Page:
    """One page of the load: a name for the table, its path, and who opens it."""

    name: str
    path: str
    admin: bool = False
    reference: bool = False  # the yardstick, not held to the target


def pages(benchmark_id: int, containers: int, page_size: int) -> list[Page]:
    """The pages under test, the reference first; benchmark_id is approved, with a history."""
    # The catalogue's middle page at either data size: page 200 of 400 at full size.
    middle = max(1, containers // (2 * page_size))
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
class Slice:
    """One short load of one url: its latencies' percentiles (ms) and counts."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    bytes_per_request: float = 0.0
    percentiles: dict[float, float] = field(default_factory=dict)  # fraction -> ms


@dataclass
class Measured:
    """What one page got in one mode: its rounds, each with the reference's slice beside it."""

    rounds: list[tuple[Slice, Slice]] = field(default_factory=list)  # (reference, page)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per request, by consumer
    reference_cpu_ms: dict[str, float] = field(default_factory=dict)  # the same, its rounds

    def ratios(self) -> list[float]:
        """Each round's page p95 over the reference's p95 in the same round."""
        return [page.percentiles[0.95] / ref.percentiles[0.95] for ref, page in self.rounds]

    def ratio(self) -> float:
        """The median of the rounds' ratios: what is held to the target."""
        return statistics.median(self.ratios()) if self.rounds else float("nan")

    def median(self, which: int, fraction: float) -> float:
        """The median over the rounds of a percentile of the reference (0) or the page (1)."""
        values = [pair[which].percentiles[fraction] for pair in self.rounds]
        return statistics.median(values) if values else float("nan")

    def totals(self) -> tuple[int, int, float, float]:
        """The page's requests, errors, seconds and bytes per request over every round."""
        slices = [pair[1] for pair in self.rounds]
        count = sum(s.requests for s in slices)
        size = sum(s.bytes_per_request * s.requests for s in slices) / max(1, count)
        return count, sum(s.errors for s in slices), sum(s.seconds for s in slices), size


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile (fraction in 0..1) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Clients:
    """The signed-in sessions of the load: a member's, an administrator's, and anonymous ones."""

    def __init__(self, base: str, count: int) -> None:
        self.members = [signed_in(base, f"user{MEMBER_ID}@example.org") for _ in range(count)]
        self.admins = [signed_in(base, f"user{ADMIN_ID}@example.org") for _ in range(count)]
        self.anonymous = [requests.Session() for _ in range(count)]

    def of(self, page: Page) -> list[requests.Session]:
        """The sessions that open page."""
        return self.anonymous if page.reference else self.admins if page.admin else self.members

    def close(self) -> None:
        for session in self.members + self.admins + self.anonymous:
            session.close()


def load_slice(
    sessions: list[requests.Session], url: str, args: argparse.Namespace, seconds: float
) -> Slice:
    """Load url with all the clients for seconds; return what it got."""
    got = Slice()
    if args.client == "wrk":
        result = wrk(url, cookie_header(sessions[0]), args.clients, seconds)
        got.requests, got.errors = result.requests, result.errors
        got.seconds, got.bytes_per_request = result.seconds, result.bytes_per_request
        got.percentiles = {0.5: result.p50, 0.95: result.p95, 0.99: result.p99}
    else:
        latencies, errors, took = hammer(sessions, url, seconds, args.requests)
        got.requests, got.errors, got.seconds = len(latencies), errors, took
        got.percentiles = {f: percentile(latencies, f) for f in (0.5, 0.95, 0.99)}
    return got


def _no_cpu() -> dict[str, float]:
    return dict.fromkeys(("web", "db", "client", "other"), 0.0)


def _per_request(spent: dict[str, float], slices: list[Slice]) -> dict[str, float]:
    """CPU ms per request, by consumer, of what slices sent."""
    done = max(1, sum(s.requests + s.errors for s in slices))
    return {key: value * 1000 / done for key, value in spent.items()}


def measure_mode(
    base: str,
    page_list: list[Page],
    clients: Clients,
    args: argparse.Namespace,
    meter: CpuMeter,
) -> dict[str, Measured]:
    """Load every page but the reference in rounds, each beside the reference; return them."""
    reference = next(page for page in page_list if page.reference)
    ref_url, ref_sessions = base + reference.path, clients.of(reference)
    out: dict[str, Measured] = {}
    for page in page_list:
        if page.reference:
            continue
        sessions, url = clients.of(page), base + page.path
        # Unmeasured warm-up: pools fill, templates compile, PostgreSQL caches the pages.
        load_slice(sessions, url, args, args.warm_up)
        measured = out[page.name] = Measured()
        spent = {"page": _no_cpu(), "reference": _no_cpu()}
        for number in range(args.rounds):
            # In turns, the reference first or the page first: neither always follows the other.
            order = ("reference", "page") if number % 2 == 0 else ("page", "reference")
            got = {}
            for which in order:
                before = meter.snapshot()
                if which == "page":
                    got[which] = load_slice(sessions, url, args, args.seconds)
                else:
                    got[which] = load_slice(ref_sessions, ref_url, args, args.seconds)
                for key, value in CpuMeter.spent(before, meter.snapshot()).items():
                    spent[which][key] += value
            measured.rounds.append((got["reference"], got["page"]))
        measured.cpu_ms = _per_request(spent["page"], [pair[1] for pair in measured.rounds])
        measured.reference_cpu_ms = _per_request(
            spent["reference"], [pair[0] for pair in measured.rounds]
        )
        ratios = " ".join(f"{r:.2f}" for r in measured.ratios())
        print(
            f"  {page.name:<20} p95 {measured.median(1, 0.95):6.1f} ms, reference "
            f"{measured.median(0, 0.95):6.1f} ms; ratio by round {ratios}: median "
            f"{measured.ratio():.2f}x",
            flush=True,
        )
    return out
