"""What a finished run means for the records that asked for it (benchmarks, join requests)."""

from __future__ import annotations

from app.models import Run


def after_run_finished(run: Run) -> None:
    """Carry a run's outcome over to its benchmark; called inside finish_run's transaction."""
    # Benchmark and join-request runs are wired here as those features land.
    return None
