"""The live event stream of a run: one Redis Stream per run, replayable and resumable.

Each entry has two fields: `type` (log, step, status, end) and `data` (JSON); a log entry
carries a batch of lines, {"lines": [{"step", "src", "line", "t"}, ...]}, `src` telling
Benchgate's own lines ("benchgate") from a container's ("container"). Entry ids are
Redis Stream ids, used as SSE event ids, so a page resumes with Last-Event-ID and sees nothing
twice and loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redis import Redis

# A run's log lines are bounded in bytes by the worker (MAX_LOG_BYTES, workers.log_budget):
# about 1.5 times that in Redis memory at most. This count is only a backstop.
STREAM_MAX_ENTRIES = 1_000_000
STREAM_TTL_SECONDS = 7 * 24 * 3600  # after the run ends
CANCEL_TTL_SECONDS = 24 * 3600


def events_key(run_id: int) -> str:
    """Name of the run's event stream."""
    return f"run:{run_id}:events"


def cancel_key(run_id: int) -> str:
    """Name of the flag a worker polls to learn that the run was canceled."""
    return f"run:{run_id}:cancel"


def _fields(kind: str, data: dict[str, Any]) -> dict[str, str | bytes]:
    # UTF-8 as it is, not \\u escapes (up to three times as long); a lone surrogate cannot be
    # encoded, so text holding one (never a cleaned log line) keeps the escapes.
    text = json.dumps(data, default=str, ensure_ascii=False)
    try:
        return {"type": kind, "data": text.encode()}
    except UnicodeEncodeError:
        return {"type": kind, "data": json.dumps(data, default=str)}


def publish(redis: Redis, run_id: int, kind: str, data: dict[str, Any]) -> str:
    """Append one event; return its id."""
    entry_id = redis.xadd(
        events_key(run_id), _fields(kind, data), maxlen=STREAM_MAX_ENTRIES, approximate=True
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def publish_many(redis: Redis, run_id: int, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Append several events in one round trip, in order."""
    pipe = redis.pipeline(transaction=False)
    key = events_key(run_id)
    for kind, data in events:
        pipe.xadd(key, _fields(kind, data), maxlen=STREAM_MAX_ENTRIES, approximate=True)
    pipe.execute()


def expire_stream(redis: Redis, run_id: int) -> None:
    """Let a finished run's stream expire; its log lives on in the database."""
    redis.expire(events_key(run_id), STREAM_TTL_SECONDS)


def read_events(
    redis: Redis,
    run_id: int,
    after: str = "0-0",
    *,
    block_ms: int | None = None,
    count: int = 500,
) -> list[tuple[str, str, dict[str, Any]]]:
    """Return up to `count` events after the id `after`, waiting up to block_ms for one."""
    return [
        (entry_id, kind, json.loads(data))
        for entry_id, kind, data in read_stored_events(
            redis, run_id, after, block_ms=block_ms, count=count
        )
    ]


def read_stored_events(
    redis: Redis,
    run_id: int,
    after: str = "0-0",
    *,
    block_ms: int | None = None,
    count: int = 500,
) -> list[tuple[str, str, str]]:
    """Like read_events, each event's data left as the JSON text it was stored as."""
    answer = redis.xread({events_key(run_id): after}, count=count, block=block_ms)
    events = []
    for _stream, entries in answer or []:
        for entry_id, fields in entries:
            kind = fields.get(b"type", fields.get("type"))
            data = fields.get(b"data", fields.get("data"))
            events.append((_text(entry_id), _text(kind), _text(data)))
    return events


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_valid_event_id(value: str) -> bool:
    """Tell whether a client-supplied Last-Event-ID looks like a Redis Stream id."""
    left, sep, right = value.partition("-")
    return bool(sep) and left.isdigit() and right.isdigit() and len(value) <= 41
