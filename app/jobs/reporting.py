"""The app's side of a run's Reporter: step rows through the run services, events and the
cancel flag in Redis."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from app.models import StepStatus
from app.services import run_events
from app.services.runs import cancel_requested, update_step
from workers.log_budget import LogLimits
from workers.reporting import Publish, Reporter

log = logging.getLogger(__name__)


class RunSteps:
    """The Reporter's view of a run's step rows, through the run services."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def update_step(self, name: str, status: str, **fields: Any) -> None:
        update_step(self.run_id, name, StepStatus(status), **fields)

    def cancel_requested(self) -> bool:
        return cancel_requested(self.run_id)


def redis_publisher(redis: Redis, run_id: int) -> Publish:
    """Publish a run's events to its Redis Stream; a failure is logged, never raised."""

    def publish(kind: str, data: dict[str, Any]) -> None:
        try:
            run_events.publish(redis, run_id, kind, data)
        except RedisError as error:  # the log file still has the lines; the page catches up
            log.warning("run %s: could not publish a %s event: %s", run_id, kind, error)

    return publish


def redis_cancel_flag(
    redis: Redis, run_id: int, fallback: Callable[[], bool]
) -> Callable[[], bool]:
    """Check a run's cancel flag in Redis, asking `fallback` (the database) when Redis fails."""

    def canceled() -> bool:
        try:
            return bool(redis.exists(run_events.cancel_key(run_id)))
        except RedisError:
            return fallback()

    return canceled


def run_reporter(
    run_id: int, redis: Redis, log_path: Path, limits: LogLimits | None = None
) -> Reporter:
    """The Reporter of a run: rows in the database, events and the cancel flag in Redis."""
    steps = RunSteps(run_id)
    return Reporter(
        run_id,
        redis_publisher(redis, run_id),
        steps,
        log_path,
        canceled=redis_cancel_flag(redis, run_id, steps.cancel_requested),
        limits=limits,
    )
