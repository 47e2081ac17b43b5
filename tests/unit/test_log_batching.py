"""When the Reporter sends log batches: on a pause, on a full batch, in order, never lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from app.jobs.reporting import redis_publisher
from app.services.run_events import read_events
from workers.reporting import FLUSH_LINES, Reporter


class Steps:
    def update_step(self, name: str, status: str, **fields: Any) -> None:
        pass

    def cancel_requested(self) -> bool:
        return False


@pytest.fixture
def redis(redis_server) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


def log_batches(redis: Redis) -> list[list[str]]:
    return [
        [item["line"] for item in data["lines"]]
        for _id, kind, data in read_events(redis, 1, count=100_000)
        if kind == "log"
    ]


def test_a_lone_line_is_sent_while_the_run_goes_on(redis, tmp_path: Path):
    report = Reporter(1, redis_publisher(redis, 1), Steps(), tmp_path / "run-1.log")
    try:
        report.output("hello")
        deadline = time.monotonic() + 10  # a liveness bound, not a latency check
        while not log_batches(redis) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert log_batches(redis) == [["hello"]]
    finally:
        report.close()


def test_a_flood_from_another_thread_arrives_whole_in_order_in_bounded_batches(
    redis, tmp_path: Path
):
    report = Reporter(1, redis_publisher(redis, 1), Steps(), tmp_path / "run-1.log")
    count = 20_000

    def pump() -> None:
        for n in range(count):
            report.output(f"line {n}")
            if n % 3000 == 0:
                time.sleep(0.02)  # pauses, as a container's output has

    thread = threading.Thread(target=pump)
    thread.start()
    thread.join()
    report.close()

    batches = log_batches(redis)
    assert [line for batch in batches for line in batch] == [f"line {n}" for n in range(count)]
    assert max(len(batch) for batch in batches) <= FLUSH_LINES
    # Batched: a Redis command carries many lines, not one each.
    assert len(batches) < count / 10


def test_close_sends_what_is_left_and_stops_the_flusher(redis, tmp_path: Path):
    report = Reporter(1, redis_publisher(redis, 1), Steps(), tmp_path / "run-1.log")
    for n in range(3):
        report.output(f"last {n}")
    report.close()
    sent = [line for batch in log_batches(redis) for line in batch]
    assert sent == ["last 0", "last 1", "last 2"]
    assert not [t for t in threading.enumerate() if t.name == "run-1-log-flusher"]
