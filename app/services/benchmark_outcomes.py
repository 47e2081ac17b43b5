"""What a benchmark's compatibility test decides: the handler of benchmark runs."""

from __future__ import annotations

from app.extensions import db
from app.models import Benchmark, BenchmarkStatus, Run, RunStatus
from app.models.enums import BENCHMARK_TRANSITIONS, check_transition
from app.services.audit import record_event
from app.services.benchmarks import benchmark_url
from app.services.notifications import notify
from app.services.run_outcomes import ENDINGS


def settle_benchmark_test(run: Run) -> None:
    """Move the benchmark out of testing by its current test's outcome (no commit)."""
    if run.benchmark_id is None:
        return
    benchmark = db.session.get(Benchmark, run.benchmark_id)
    # A superseded test (the owner edited meanwhile) says nothing about the benchmark.
    if benchmark is None or benchmark.status != BenchmarkStatus.TESTING:
        return
    if benchmark.run_id != run.id:
        return
    url = benchmark_url(benchmark)
    if run.status == RunStatus.PASSED:
        check_transition(BENCHMARK_TRANSITIONS, benchmark.status, BenchmarkStatus.PENDING_APPROVAL)
        benchmark.status = BenchmarkStatus.PENDING_APPROVAL
        benchmark.results = run.results
        benchmark.prepared_data_uid = run.prepared_data_uid
        benchmark.demo_sha256 = (run.hashes or {}).get("demo") or benchmark.demo_sha256
        record_event(None, "test_passed", benchmark)
        notify(
            benchmark.owner_id,
            f"Your benchmark “{benchmark.name}” passed its compatibility test. It now waits "
            "for an administrator's review; you will be told of the decision here.",
            url,
        )
        return
    check_transition(BENCHMARK_TRANSITIONS, benchmark.status, BenchmarkStatus.TEST_FAILED)
    benchmark.status = BenchmarkStatus.TEST_FAILED
    summary = run.failure_summary or f"the test {ENDINGS.get(run.status, 'ended')}"
    record_event(None, "test_failed", benchmark, summary)
    if run.status == RunStatus.ERROR:
        # Not the owner's fault: nothing in the benchmark needs to change.
        next_step = (
            "Nothing in your benchmark needs to change: use “Test again without changes” on "
            "its page. If it happens again, tell an administrator."
        )
    else:
        next_step = "Open it to see the failing step, then edit the benchmark or test it again."
    notify(
        benchmark.owner_id,
        f"The compatibility test of your benchmark “{benchmark.name}” "
        f"{ENDINGS.get(run.status, 'ended')}: {summary.rstrip('.')}. {next_step}",
        url,
        mail="test_failed",
    )
