"""The live-log benchmark's clients and what they saw: arrivals, numbered lines, integrity.

The chatty container prints, per turn of its loop, one stamped line `L <turn> <uptime>` and
`fill` unstamped ones `F <turn> <k>`, all in one write. Every line has an ordinal (its place in
what was printed), so lost, repeated and reordered lines are counted over all of them.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

RUN_DEADLINE_SECONDS = 900
STAMPED = re.compile(r"L (\d+) (\d+\.\d+)$")
FILLER = re.compile(r"F (\d+) (\d+)$")


@dataclass
class Arrivals:
    """What one client received: (wall-clock arrival, payload) in arrival order."""

    chunks: list[tuple[float, Any]] = field(default_factory=list)
    error: str | None = None
    opened_at: float = 0.0  # wall clock when the client was ready (the browser's page)


def follow_sse(host: str, port: int, path: str, cookie: str, out: Arrivals) -> None:
    """Read the SSE endpoint until its `end` event, stamping each chunk as it arrives."""
    try:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        connection.request("GET", path, headers={"Cookie": cookie, "Accept": "text/event-stream"})
        response = connection.getresponse()
        if response.status != 200:
            out.error = f"SSE answered HTTP {response.status}"
            return
        tail = b""
        deadline = time.monotonic() + RUN_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            chunk = response.read1(1 << 20)
            if not chunk:
                break
            out.chunks.append((time.time(), chunk))
            tail = (tail + chunk)[-256:]
            if b"\nevent: end\n" in tail or tail.startswith(b"event: end\n"):
                break
        connection.close()
    except Exception as error:  # reported with the figures, not swallowed
        out.error = f"SSE client: {error!r}"


def follow_xread(redis_url: str, key: str, out: Arrivals) -> None:
    """Read the run's stream with XREAD BLOCK until its `end` entry, stamping each batch."""
    from redis import Redis

    client = Redis.from_url(redis_url, socket_timeout=30)
    after = "0-0"
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    try:
        while time.monotonic() < deadline:
            answer = client.xread({key: after}, count=1000, block=1000)
            if not answer:
                continue
            entries = answer[0][1]
            out.chunks.append((time.time(), entries))
            after = entries[-1][0]
            if any(fields[b"type"] == b"end" for _id, fields in entries):
                return
    except Exception as error:
        out.error = f"XREAD client: {error!r}"
    finally:
        client.close()


@dataclass
class Line:
    """One numbered line as a client saw it."""

    ordinal: int  # its place in what the container printed, from 0
    turn: int  # the loop's turn that printed it
    stamp: float | None  # container's CLOCK_BOOTTIME, floored to 10 ms (stamped lines only)
    worker: float  # wall clock when the worker read it (the event's `t`)
    added: float  # wall clock of the XADD, from the stream entry id (ms)
    arrival: float  # wall clock when the client got it


def ordinal_of(text: str, fill: int) -> tuple[int, int, float | None] | None:
    """Return (ordinal, turn, stamp) of a chatty line, or None for any other line."""
    match = STAMPED.match(text)
    if match is not None:
        turn = int(match.group(1))
        return (turn - 1) * (fill + 1), turn, float(match.group(2))
    match = FILLER.match(text)
    if match is not None:
        turn = int(match.group(1))
        return (turn - 1) * (fill + 1) + int(match.group(2)), turn, None
    return None


def sse_lines(out: Arrivals, fill: int) -> list[Line]:
    """Cut the SSE text into events and keep the numbered log lines with their times."""
    lines: list[Line] = []
    pending = b""
    for arrival, chunk in out.chunks:
        pending += chunk
        *events, pending = pending.split(b"\n\n")
        for event in events:
            fields = dict(
                part.split(": ", 1) for part in event.decode().split("\n") if ": " in part
            )
            if fields.get("event") != "log":
                continue
            lines.extend(_numbered(fields["id"], json.loads(fields["data"]), arrival, fill))
    return lines


def xread_lines(out: Arrivals, fill: int) -> list[Line]:
    """Keep the numbered log lines of the XREAD batches with their times."""
    lines: list[Line] = []
    for arrival, entries in out.chunks:
        for entry_id, fields in entries:
            if fields[b"type"] != b"log":
                continue
            data = json.loads(fields[b"data"])
            lines.extend(_numbered(entry_id.decode(), data, arrival, fill))
    return lines


def _numbered(entry_id: str, data: dict[str, Any], arrival: float, fill: int) -> list[Line]:
    """The numbered lines of one log event (a batch of lines, as the worker sends them)."""
    added = int(entry_id.split("-", 1)[0]) / 1000
    found = []
    for item in data.get("lines", []):
        known = ordinal_of(item.get("line", ""), fill)
        if known is not None:
            found.append(Line(*known, worker=item["t"], added=added, arrival=arrival))
    return found


def first_of_each_tick(lines: list[Line]) -> list[Line]:
    """The stamped lines whose stamp moved on from the previous turn's.

    /proc/uptime moves on every 10 ms: a line stamped with a new value was printed after the
    tick and after the previous turn's line, which was printed before it. At thousands of turns
    a second that brackets its print time to a fraction of a millisecond, where any other
    line's stamp may be up to 10 ms early.
    """
    chosen: list[Line] = []
    previous: Line | None = None
    for line in lines:
        if line.stamp is None:
            continue
        if previous is not None and line.turn == previous.turn + 1 and line.stamp > previous.stamp:
            chosen.append(line)
        previous = line
    return chosen


def integrity(lines: list[Line], expected: int) -> dict[str, int]:
    """Count lines received, lost, repeated and out of order (by their ordinals)."""
    ordinals = [line.ordinal for line in lines]
    seen = set(ordinals)
    out_of_order = sum(1 for a, b in zip(ordinals, ordinals[1:], strict=False) if b < a)
    return {
        "received": len(ordinals),
        "lost": len(set(range(expected)) - seen),
        "repeated": len(ordinals) - len(seen),
        "out of order": out_of_order,
    }
