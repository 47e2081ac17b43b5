"""Server-Sent Events from a run's Redis Stream, and the log rebuilt from that stream."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from redis import ConnectionPool, Redis
from redis.exceptions import RedisError

from app.services.run_events import (
    events_key,
    is_valid_event_id,
    read_events,
    read_stored_events,
)
from app.settings import settings
from workers.log_lines import format_item

log = logging.getLogger(__name__)

BATCH = 500  # events per XREAD: a chatty container sends whole batches, not single lines
RETRY_MS = 2000  # how soon a browser reconnects after the connection drops
RETRY_WHEN_DOWN_MS = 10_000  # Redis unreachable: do not hammer it
DEFAULT_BLOCK_MS = 15_000

StatusLookup = Callable[[], tuple[str, str] | None]
# How often an open stream checks that its reader's session is still live (SPEC §8: a
# deactivated account's streams stop within seconds).
ACCESS_CHECK_SECONDS = 5.0
SIGNED_OUT = "You were signed out, so the live log stopped. Sign in again to follow it."


def stream_client(app: Flask) -> Redis:
    """A Redis client whose reads outlast a blocking XREAD (the app's own times out at 5 s)."""
    client = app.extensions.get("redis_stream")
    if client is None:
        base = app.extensions["redis"].connection_pool
        block_s = settings(app).sse_block_ms / 1000
        kwargs = {**base.connection_kwargs, "socket_timeout": block_s + 10}
        client = Redis(
            connection_pool=ConnectionPool(connection_class=base.connection_class, **kwargs)
        )
        app.extensions["redis_stream"] = client
    return client


def start_after(header: str | None, query: str | None) -> str:
    """The stream id to resume after: Last-Event-ID (header, or ?last_id=), else the start."""
    for candidate in (header, query):
        if candidate and is_valid_event_id(candidate.strip()):
            return candidate.strip()
    return "0-0"


def sse_event(kind: str, data: dict[str, Any], event_id: str | None = None) -> str:
    """Format one event; JSON has no raw newlines, so `data` is always a single line."""
    return sse_stored_event(kind, json.dumps(data, default=str), event_id)


def sse_stored_event(kind: str, data: str, event_id: str | None = None) -> str:
    """Format one event whose data is JSON text as the stream stored it, passed on unparsed:
    a chatty run's batches cost the web tier no decoding and encoding again."""
    if "\n" in data or "\r" in data:
        # JSON text written by json.dumps never holds one raw; keep the event one line anyway.
        data = json.dumps(json.loads(data))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


def run_events(
    redis: Redis,
    run_id: int,
    *,
    after: str,
    finished: tuple[str, str] | None,
    lookup_status: StatusLookup,
    block_ms: int = DEFAULT_BLOCK_MS,
    still_allowed: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """Yield the run's events as SSE text, from `after` until its `end` event.

    Args:
        finished: (status, summary) when the run had already ended at the start, else None.
        lookup_status: reads the run's (status, summary) from the database when it has
            ended, else None; called only when the stream stays quiet, so a run whose `end`
            never reached Redis still ends the stream.
        still_allowed: tells whether the reader may still read (a live session); asked every
            few seconds, and the stream ends with a `signed_out` event when it says no.
    """
    yield f": connected\nretry: {RETRY_MS}\n\n"
    if still_allowed is not None:
        block_ms = min(block_ms, int(ACCESS_CHECK_SECONDS * 1000))
    next_check = time.monotonic() + ACCESS_CHECK_SECONDS
    try:
        while True:
            if still_allowed is not None and time.monotonic() >= next_check:
                if not still_allowed():
                    yield sse_event("signed_out", {"message": SIGNED_OUT})
                    return
                next_check = time.monotonic() + ACCESS_CHECK_SECONDS
            # An ended run has nothing more coming: read what is there without waiting.
            events = read_stored_events(
                redis, run_id, after, block_ms=None if finished else block_ms, count=BATCH
            )
            if events:
                chunk = []
                for event_id, kind, data in events:
                    chunk.append(sse_stored_event(kind, data, event_id))
                    after = event_id
                    if kind == "end":
                        yield "".join(chunk)
                        return
                yield "".join(chunk)
                continue
            ended = finished or lookup_status()
            if ended:
                # No id: a client that reconnects still resumes after the last real event.
                yield sse_event("end", {"status": ended[0], "summary": ended[1]})
                return
            yield ": keep-alive\n\n"
    except RedisError as error:
        log.info("run %s: live events interrupted: %s", run_id, error)
        yield f": the live log is unavailable for now\nretry: {RETRY_WHEN_DOWN_MS}\n\n"


def log_lines(redis: Redis, run_id: int, page: int = 2000) -> Iterator[str]:
    """Yield the run's log so far as `[step] [source] line` text, read from its stream."""
    after = "0-0"
    while True:
        events = read_events(redis, run_id, after, count=page)
        if not events:
            return
        out = []
        for event_id, kind, data in events:
            after = event_id
            if kind == "log":
                out.extend(format_item(item) + "\n" for item in data.get("lines", []))
        if out:
            yield "".join(out)


def stream_exists(redis: Redis, run_id: int) -> bool:
    """Tell whether the run still has an event stream in Redis."""
    return bool(redis.exists(events_key(run_id)))
