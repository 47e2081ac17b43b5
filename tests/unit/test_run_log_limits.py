"""The Reporter keeps a run's log within its caps, alike in the log file and in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from app.jobs.reporting import redis_publisher
from app.runs.stream import log_lines
from app.services.run_events import events_key, read_events
from workers.docker_logs import CutLine, PlatformNote
from workers.errors import StepFailed
from workers.log_budget import LogLimits, StepBudget
from workers.reporting import Reporter


class Steps:
    """Step rows kept in memory."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, dict[str, Any]]] = []

    def update_step(self, name: str, status: str, **fields: Any) -> None:
        self.updates.append((name, status, fields))

    def cancel_requested(self) -> bool:
        return False


@pytest.fixture
def redis(redis_server) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


def reporter(redis: Redis, tmp_path: Path, **limits: int) -> Reporter:
    return Reporter(
        1, redis_publisher(redis, 1), Steps(), tmp_path / "run-1.log", limits=LogLimits(**limits)
    )


def streamed(redis: Redis) -> str:
    return "".join(log_lines(redis, 1))


def test_step_budget_keeps_the_head_then_rolls_the_tail_and_counts_the_rest():
    budget: StepBudget[int] = StepBudget(100)
    kept = [n for n in range(20) if budget.admit(n, 10)]
    assert kept == [0, 1, 2, 3, 4]
    released = budget.release()
    assert released.items == [15, 16, 17, 18, 19]
    assert (released.dropped_lines, released.dropped_bytes) == (10, 100)
    assert not budget.admit(20, 10)  # the step's share is spent: nothing more is kept
    assert budget.release().items == []


def test_a_flood_keeps_its_first_and_last_lines_and_says_how_much_was_left_out(redis, tmp_path):
    report = reporter(redis, tmp_path, max_bytes=5 * 40_000)  # 40,000 bytes per step
    with report.step("prepare"):
        for n in range(100_000):
            report.output(f"line {n}")
    text = report.close()

    lines = text.splitlines()
    assert lines[0] == "[prepare] [container] line 0"
    assert lines[-1] == "[prepare] [container] line 99999"
    assert len(text.encode()) < 40_000 + 1_000  # the share, and Benchgate's own two notes
    notes = [line for line in lines if line.startswith("[prepare] [benchgate] ")]
    assert "passed its share of the log (39.1 KiB)" in notes[0]
    assert notes[1].endswith("of output were left out here to keep the log within its limit.")
    left_out = int(notes[1].split("] ")[2].split(" lines")[0].replace(",", ""))
    assert left_out + sum(line.startswith("[prepare] [container]") for line in lines) == 100_000
    # The live page and the download saw exactly what the stored log holds.
    assert streamed(redis) == text
    assert (tmp_path / "run-1.log").stat().st_size == len(text.encode())


def test_redis_holds_a_bounded_amount_per_run_however_much_is_printed(redis, tmp_path):
    report = reporter(redis, tmp_path, max_bytes=5 * 100_000)
    with report.step("infer"):
        for n in range(200_000):  # about 10 MB of output
            report.output(f"{n} " + "x" * 40)
    report.close()
    entries = redis.xlen(events_key(1))
    memory = redis.memory_usage(events_key(1))
    assert memory < 3 * 100_000, (entries, memory)
    assert entries < 100


def test_a_line_longer_than_the_limit_is_cut_saying_how_much(redis, tmp_path):
    report = reporter(redis, tmp_path, max_line_chars=10)
    with report.step("infer"):
        report.output("a" * 25)
        report.output(CutLine.of("b" * 10, 4_000_000))
    text = report.close()
    assert "[infer] [container] aaaaaaaaaa [… 15 more characters of this line left out]" in text
    assert "bbbbbbbbbb [… 4,000,000 more characters of this line left out]" in text


def test_container_output_never_passes_for_benchgates_own_lines(redis, tmp_path):
    report = reporter(redis, tmp_path)
    with report.step("evaluate"):
        report.output("benchgate: all steps passed")
        report.output("\x1b[1A\x1b[2K[benchgate] all steps passed\r")
        report.output("evaluate: \u202edessap\x00")
        report.output(PlatformNote("The log stream stopped early: closed"))
    text = report.close()
    assert text.splitlines() == [
        "[evaluate] [container] benchgate: all steps passed",
        "[evaluate] [container] \\x1b[1A\\x1b[2K[benchgate] all steps passed",
        "[evaluate] [container] evaluate: \\u202edessap\\x00",
        "[evaluate] [benchgate] The log stream stopped early: closed",
    ]
    items = [
        item
        for _, kind, data in read_events(redis, 1, count=100)
        if kind == "log"
        for item in data["lines"]
    ]
    assert [item["src"] for item in items] == ["container"] * 3 + ["benchgate"]


def test_a_failed_step_keeps_a_clean_marked_tail(redis, tmp_path):
    report = reporter(redis, tmp_path)
    with pytest.raises(StepFailed) as caught:
        with report.step("infer"):
            report.say("Running model (infer)")
            report.output("giving up\x1b]0;title\x07")
            raise StepFailed("The model's infer task exited with code 3.", "exit_code")
    report.close()
    assert caught.value.log_tail == [
        "[infer] [benchgate] Running model (infer)",
        "[infer] [container] giving up\\x1b]0;title\\x07",
    ]
    name, status, fields = report.store.updates[-1]
    assert (name, status) == ("infer", "failed")
    assert fields["log_tail"] == "\n".join(caught.value.log_tail)


@pytest.mark.parametrize(
    "line", ["", "é" * 30, "\x00" * 30, "x" * 2000], ids=["empty", "accents", "nul", "long"]
)
def test_redis_memory_stays_near_the_cap_whatever_the_lines_are_made_of(redis, tmp_path, line):
    report = reporter(redis, tmp_path, max_bytes=5 * 100_000)
    with report.step("prepare"):
        for _ in range(20_000):
            report.output(line)
    text = report.close()
    assert len(text.encode()) < 100_000 + 1_000
    assert redis.memory_usage(events_key(1)) < 1.5 * 100_000
