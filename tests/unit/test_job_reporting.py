"""The core Reporter through plain callables, and the app's Redis publisher and cancel flag."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.jobs.reporting import redis_cancel_flag, redis_publisher
from app.services.run_events import cancel_key, read_events
from workers.errors import RunCanceled
from workers.reporting import Reporter


class Steps:
    def __init__(self, canceled: bool = False) -> None:
        self.updates: list[tuple[str, str]] = []
        self.canceled = canceled

    def update_step(self, name: str, status: str, **fields: Any) -> None:
        self.updates.append((name, status))

    def cancel_requested(self) -> bool:
        return self.canceled


@pytest.fixture
def redis(redis_server) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


def unreachable_redis() -> Redis:
    return Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


def test_the_core_reporter_publishes_steps_and_lines_through_its_callable(tmp_path: Path):
    events: list[tuple[str, dict[str, Any]]] = []
    steps = Steps()
    report = Reporter(7, lambda kind, data: events.append((kind, data)), steps, tmp_path / "7.log")
    with report.step("fetch"):
        report.output("hello\x1b[2J")
    report.close()

    assert [(kind, data.get("status")) for kind, data in events] == [
        ("step", "running"),
        ("log", None),
        ("step", "passed"),
    ]
    assert events[1][1]["lines"][0]["line"] == "hello\\x1b[2J"  # cleaned by the core
    assert steps.updates == [("fetch", "running"), ("fetch", "passed")]


def test_the_cancel_flag_is_asked_at_most_twice_a_second_and_the_store_between_steps(
    tmp_path: Path,
):
    asked: list[int] = []
    steps = Steps()
    report = Reporter(
        7, lambda *_: None, steps, tmp_path / "7.log", canceled=lambda: asked.append(1) or False
    )
    try:
        assert not any(report.cancel_requested() for _ in range(100))
        assert len(asked) == 1
        steps.canceled = True  # the database knows even when the quick flag does not
        with pytest.raises(RunCanceled):
            report.check_canceled()
    finally:
        report.close()


def test_the_publisher_appends_to_the_run_stream(redis):
    redis_publisher(redis, 3)("step", {"name": "fetch", "status": "running"})
    assert [(kind, data["status"]) for _id, kind, data in read_events(redis, 3)] == [
        ("step", "running")
    ]


def test_a_redis_failure_to_publish_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="app.jobs.reporting"):
        redis_publisher(unreachable_redis(), 3)("log", {"lines": []})
    assert "run 3: could not publish a log event" in caplog.text


def test_the_cancel_flag_reads_redis_and_falls_back_to_the_database(redis):
    assert redis_cancel_flag(redis, 4, fallback=lambda: True)() is False
    redis.set(cancel_key(4), 1)
    assert redis_cancel_flag(redis, 4, fallback=lambda: False)() is True
    assert redis_cancel_flag(unreachable_redis(), 4, fallback=lambda: True)() is True
