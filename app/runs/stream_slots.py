"""Caps on open live logs: each holds a web thread, so they must leave threads for pages."""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask

from app.settings import settings

RETRY_AFTER_SECONDS = 30  # a refused stream: when to try again


class StreamSlots:
    """Open streams counted per member and in all, in this process; thread-safe."""

    def __init__(self, per_member: int, in_all: int):
        self.per_member = per_member
        self.in_all = in_all
        self._lock = threading.Lock()
        self._members: Counter[int] = Counter()

    def take(self, member_id: int) -> Slot | None:
        """Take a slot for one more stream of this member; None when a cap is reached."""
        with self._lock:
            if self.open() >= self.in_all or self._members[member_id] >= self.per_member:
                return None
            self._members[member_id] += 1
        return Slot(self, member_id)

    def open(self, member_id: int | None = None) -> int:
        """How many streams are open: a member's, or in all."""
        if member_id is not None:
            return self._members[member_id]
        return sum(self._members.values())

    def _give_back(self, member_id: int) -> None:
        with self._lock:
            self._members[member_id] -= 1
            if self._members[member_id] <= 0:
                del self._members[member_id]


class Slot:
    """One open stream's place; released once, however many times release() is called."""

    def __init__(self, slots: StreamSlots, member_id: int):
        self._slots = slots
        self._member_id = member_id
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the place back (when the stream ends or its client goes away)."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._slots._give_back(self._member_id)


def init_stream_slots(app: Flask) -> StreamSlots:
    """Create this process's counter from SSE_MAX_PER_MEMBER and SSE_MAX_PER_PROCESS."""
    slots = StreamSlots(settings(app).sse_max_per_member, settings(app).sse_max_per_process)
    app.extensions["sse_slots"] = slots
    return slots


def stream_slots(app: Flask) -> StreamSlots:
    """This process's counter of open live logs."""
    return app.extensions["sse_slots"]
