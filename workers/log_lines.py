"""One format for a run's log lines: the step, who wrote the line (Benchgate or a container), text.

A stored or downloaded line reads `[prepare] [container] text` or `[prepare] [benchgate] text`.
The source sits in a column before anything a container prints, and container text has no
raw line breaks or control characters (workers.safe_text), so a container cannot write a line that
reads as Benchgate's. Log events in the Redis Stream carry the same three fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.safe_text import clean_line

PLATFORM = "benchgate"
CONTAINER = "container"
SOURCES = (PLATFORM, CONTAINER)
_LINE = re.compile(r"\[([a-z_]+)\] \[(benchgate|container)\] ?(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class LogLine:
    """One line of a run's log, as the pages show it."""

    step: str | None
    source: str | None  # None for lines stored before sources were recorded
    text: str

    @property
    def platform(self) -> bool:
        return self.source == PLATFORM


def join_line(step: str, source: str, text: str) -> str:
    """The stored and downloaded form of one line whose text is already clean."""
    return f"[{step}] [{source if source in SOURCES else CONTAINER}] {text}"


def format_line(step: str, source: str, text: str) -> str:
    """The stored and downloaded form of one line, its text cleaned first."""
    return join_line(step, source, clean_line(text))


def format_item(item: dict) -> str:
    """Format a log item of the event stream: {"step", "src", "line"}."""
    step, source = str(item.get("step", "run")), str(item.get("src", CONTAINER))
    return format_line(step, source, str(item.get("line", "")))


def parse_line(line: str) -> LogLine:
    """Split a stored line into step, source and text; older lines keep their raw text."""
    match = _LINE.match(line)
    if match is None:
        return LogLine(None, None, clean_line(line))
    return LogLine(match.group(1), match.group(2), match.group(3))


def parse_lines(lines: list[str]) -> list[LogLine]:
    """parse_line for each line."""
    return [parse_line(line) for line in lines]
