"""How much of a run's log is kept: a share per step, its first half at once, its last half later.

A container may print without end. Each step keeps the first half of its share at once (live
page, Redis and log file alike); past that, lines go to a rolling buffer that keeps only the
most recent half, released with a note saying how much was left out when the step ends or
Benchgate has something to say. Everything is still read, so the container runs on.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

MIB = 1 << 20
# Steps whose containers print (prepare, sanity_check, statistics, infer, evaluate): each
# gets an equal share of the run's log, so one chatty step cannot crowd out another's end.
CONTAINER_STEPS = 5

T = TypeVar("T")


@dataclass(frozen=True)
class LogLimits:
    """The operator's caps on a run's log."""

    max_bytes: int = 20 * MIB  # container output kept per run, in bytes of the stored log
    max_line_chars: int = 16_384  # a longer line is cut, saying how much of it was dropped

    @property
    def step_bytes(self) -> int:
        """The share of one step."""
        return max(self.max_bytes // CONTAINER_STEPS, 2)


@dataclass
class Released(Generic[T]):
    """What a step's rolling buffer gives back: lines, and how much was left out before them."""

    items: list[T]
    dropped_lines: int
    dropped_bytes: int


class StepBudget(Generic[T]):
    """Decides, line by line, whether a step's output is kept now, held, or left out."""

    def __init__(self, limit_bytes: int) -> None:
        self.head_left = limit_bytes // 2
        self.tail_left = limit_bytes - limit_bytes // 2  # what may still be kept after the head
        self.over = False
        self._held: deque[tuple[T, int]] = deque()
        self._held_bytes = 0
        self._dropped_lines = 0
        self._dropped_bytes = 0

    def admit(self, item: T, size: int) -> bool:
        """True: keep the line now. False: it is held (and older held lines may be left out)."""
        if not self.over:
            if size <= self.head_left:
                self.head_left -= size
                return True
            self.over = True
        self._held.append((item, size))
        self._held_bytes += size
        while self._held and self._held_bytes > self.tail_left:
            _, dropped = self._held.popleft()
            self._held_bytes -= dropped
            self._dropped_lines += 1
            self._dropped_bytes += dropped
        return False

    @property
    def holding(self) -> bool:
        """True when release() has anything to give back or to tell."""
        return bool(self._held) or self._dropped_lines > 0

    def release(self) -> Released[T]:
        """Give back the held lines; what they take is spent from the step's share."""
        released = Released(
            [item for item, _ in self._held], self._dropped_lines, self._dropped_bytes
        )
        self.tail_left -= self._held_bytes
        self._held.clear()
        self._held_bytes = self._dropped_lines = self._dropped_bytes = 0
        return released


def size_words(count: int) -> str:
    """Say a byte count the short way: 512 bytes, 3.2 KiB, 4.0 MiB."""
    if count < 1024:
        return f"{count} bytes"
    if count < MIB:
        return f"{count / 1024:.1f} KiB"
    return f"{count / MIB:.1f} MiB"
