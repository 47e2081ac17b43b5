"""The tables and verdicts of bench/web_load.py, for each mode and side by side."""

from __future__ import annotations

import argparse
import os

from _web_measure import Measured

# A page's p95 over the reference page's (the sign-in form, no database) in the same round.
TARGET_P95_RATIO = 1.5


def page_met(measured: Measured) -> bool:
    """Whether a page met the target in one mode: median ratio within it, no errors."""
    requests, errors, _seconds, _size = measured.totals()
    return requests > 0 and errors == 0 and measured.ratio() <= TARGET_P95_RATIO


def report_mode(mode: str, out: dict[str, Measured], args: argparse.Namespace) -> None:
    """Print one mode's latencies, ratios and CPU per request."""
    print(f"\n{mode}")
    print(
        f"{'page':<22}{'p50':>7}{'p95':>7}{'p99':>7}{'ref':>7}{'ratio':>7}{'min':>6}{'max':>6}"
        f"{'req/s':>7}{'KB':>6}{'errors':>7}  verdict"
    )
    for name, m in out.items():
        requests, errors, seconds, size = m.totals()
        ratios = m.ratios()
        verdict = "met" if page_met(m) else "MISSED"
        print(
            f"{name:<22}{m.median(1, 0.5):>7.1f}{m.median(1, 0.95):>7.1f}"
            f"{m.median(1, 0.99):>7.1f}{m.median(0, 0.95):>7.1f}{m.ratio():>6.2f}x"
            f"{min(ratios):>6.2f}{max(ratios):>6.2f}{requests / max(seconds, 1e-9):>7.0f}"
            f"{size / 1024:>6.1f}{errors:>7}  {verdict}"
        )
    cores = os.cpu_count() or 1
    print(f"CPU ms per request ({cores} cores; 'other' is the rest of the machine)")
    print(
        f"{'page':<22}{'web':>7}{'db':>7}{'client':>8}{'other':>7}{'max req/s':>11}{'floor':>8}"
        f"{'ref web+db':>12}{'cpu ratio':>11}"
    )
    for name, m in out.items():
        cpu, ref = m.cpu_ms, m.reference_cpu_ms
        own = cpu.get("web", 0) + cpu.get("db", 0) + cpu.get("client", 0)
        served = cpu.get("web", 0) + cpu.get("db", 0)
        ref_served = ref.get("web", 0) + ref.get("db", 0)
        # With the cores to ourselves, this is the most these requests could go through;
        # a closed loop of N clients then waits at least N / rate on average (Little's law).
        ceiling = cores * 1000 / own if own else float("inf")
        print(
            f"{name:<22}{cpu.get('web', 0):>7.1f}{cpu.get('db', 0):>7.1f}"
            f"{cpu.get('client', 0):>8.1f}{cpu.get('other', 0):>7.1f}{ceiling:>11.0f}"
            f"{args.clients * 1000 / ceiling:>7.0f}ms{ref_served:>12.2f}"
            f"{served / ref_served if ref_served else float('nan'):>10.2f}x"
        )
    print(
        "ref web+db: the reference's CPU per request in the same rounds; cpu ratio: the page's "
        "web+db over it, steadier than latency on a shared machine (no target)"
    )


def report_queries(queries: dict, alone_ms: dict, small: str, full: str) -> bool:
    """Print each page's SQL statements at both data sizes; return whether none grew."""
    print(f"\n{'page':<22}{'q@' + small:>7}{'q@' + full:>7}{'alone':>8}  queries")
    steady = True
    for name, counts in queries.items():
        same = counts.get(small) == counts.get(full)
        steady &= same
        print(
            f"{name:<22}{counts.get(small, -1):>7}{counts.get(full, -1):>7}"
            f"{alone_ms.get(name, float('nan')):>8.1f}  {'steady' if same else 'GROW'}"
        )
    print(
        "q@: SQL statements per page at each data size; alone: ms for one request at a time, "
        "in-process (median of 5)"
    )
    return steady


def report_summary(results: dict[str, dict[str, Measured]], steady: bool) -> bool:
    """Print the ratio and verdict of every page in every mode side by side; return all met."""
    modes = list(results)
    names = list(next(iter(results.values()))) if results else []
    print(f"\np95 ratio to the reference (median of rounds), target <= {TARGET_P95_RATIO}x")
    print(f"{'page':<22}" + "".join(f"{mode:>26}" for mode in modes))
    all_met = steady
    for name in names:
        cells = ""
        for mode in modes:
            m = results[mode][name]
            met = page_met(m)
            all_met &= met
            cells += f"{m.ratio():>17.2f}x {'met' if met else 'MISSED':>7}"
        print(f"{name:<22}{cells}")
    print(
        "each round loads the reference and the page one after the other (in turns of order); "
        "ratio: the median over the rounds of page p95 / reference p95; p50/p95/p99/ref: "
        "medians over the rounds, ms at the client; min/max: the rounds' extreme ratios"
    )
    print("verdict:", "every target met" if all_met else "some targets MISSED")
    return all_met
