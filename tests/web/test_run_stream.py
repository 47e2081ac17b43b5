"""The run's live events over SSE, read as a real stream: replay, resume, keep-alive, end."""

import json

import pytest

from app.extensions import db
from app.models import Run, RunStatus
from app.services.queue import redis_client
from app.services.run_events import events_key, publish, publish_many
from app.services.runs import finish_run, mark_running
from tests.support.runs import fail_run, log_event, pass_run, start_run
from tests.support.web import sse_blocks


@pytest.fixture
def config(config):
    config["SSE_BLOCK_MS"] = 200  # a quiet stream answers with a keep-alive in 0.2 s
    return config


def stream_ids(run_id: int) -> list[str]:
    """Every entry id of the run's Redis Stream, in order."""
    return [entry_id.decode() for entry_id, _ in redis_client().xrange(events_key(run_id))]


def open_events(client, run_id: int, **kwargs):
    return client.get(f"/runs/{run_id}/events", buffered=False, **kwargs)


def events_of(blocks) -> list[dict]:
    return [b for b in blocks if "event" in b]


def test_stream_starts_with_a_comment_and_a_retry_and_has_sse_headers(member_client, member):
    run_id = start_run(member).id
    response = open_events(member_client, run_id)
    try:
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Accel-Buffering"] == "no"
        first = next(sse_blocks(response))
        assert first["comments"] == ["connected"] and first["retry"] == "2000"
    finally:
        response.close()


def test_replay_from_the_start_sends_every_event_in_order_then_ends(member_client, member):
    run_id = start_run(member).id
    lines = [("prepare", f"line {i}") for i in range(1200)]  # more than one XREAD batch
    pass_run(run_id, lines, results={"auc": 0.9})
    response = open_events(member_client, run_id)
    blocks = list(sse_blocks(response))  # ends by itself after `end`
    events = events_of(blocks)
    assert [e["id"] for e in events] == stream_ids(run_id)
    assert events[0]["event"] == "status" and events[-1]["event"] == "end"
    logs = [e for e in events if e["event"] == "log"]
    assert [e["data"] for e in logs][:2] == [
        '{"lines": [{"step": "prepare", "src": "container", "line": "line 0", "t": 0.0}]}',
        '{"lines": [{"step": "prepare", "src": "container", "line": "line 1", "t": 0.0}]}',
    ]
    assert len(logs) == 1200
    assert '"status": "passed"' in events[-1]["data"]


def test_resume_after_last_event_id_sends_only_later_events(member_client, member):
    run_id = start_run(member).id
    fail_run(run_id, "prepare", summary="Exit code 2.")
    ids = stream_ids(run_id)
    cut = ids[3]
    response = open_events(member_client, run_id, headers={"Last-Event-ID": cut})
    resumed = [e["id"] for e in events_of(sse_blocks(response))]
    assert resumed == ids[4:]  # nothing repeated, nothing lost
    by_query = open_events(member_client, run_id, query_string={"last_id": ids[-2]})
    assert [e["id"] for e in events_of(sse_blocks(by_query))] == ids[-1:]


def test_a_malformed_last_event_id_replays_from_the_start(member_client, member):
    run_id = start_run(member).id
    fail_run(run_id, "fetch", summary="Bad hash.")
    response = open_events(member_client, run_id, headers={"Last-Event-ID": "0-0 OR 1"})
    assert [e["id"] for e in events_of(sse_blocks(response))] == stream_ids(run_id)


def test_quiet_stream_sends_keep_alives_and_follows_new_events_until_end(
    member_client, member, app
):
    run_id = start_run(member).id
    assert mark_running(run_id, "fake-worker")
    response = open_events(member_client, run_id)
    blocks = sse_blocks(response)
    try:
        assert next(blocks)["comments"] == ["connected"]
        statuses = [next(blocks), next(blocks)]
        assert [b["data"] for b in statuses] == ['{"status": "queued"}', '{"status": "running"}']
        assert next(blocks)["comments"] == ["keep-alive"]
        # While a stream is open it holds no database connection.
        assert db.engine.pool.checkedout() == 0
        publish(redis_client(), run_id, *log_event("fetch", "late line", 1.0))
        block = next(blocks)
        while block.get("event") != "log":
            block = next(blocks)
        assert "late line" in block["data"]
        finish_run(run_id, RunStatus.ERROR, failure_summary="Docker is unreachable.")
        rest = list(blocks)
    finally:
        response.close()
    assert rest[-1]["event"] == "end" and "Docker is unreachable." in rest[-1]["data"]


def test_finished_run_whose_stream_expired_gets_a_single_end_event(member_client, member):
    run_id = start_run(member).id
    fail_run(run_id, "infer", summary="The model wrote no predictions.")
    redis_client().delete(events_key(run_id))
    blocks = list(sse_blocks(open_events(member_client, run_id)))
    events = events_of(blocks)
    assert len(events) == 1 and events[0]["event"] == "end" and "id" not in events[0]
    assert '"status": "failed"' in events[0]["data"]
    assert "The model wrote no predictions." in events[0]["data"]


def test_stream_ends_when_the_run_ended_but_its_end_event_never_arrived(member_client, member):
    run_id = start_run(member).id
    response = open_events(member_client, run_id)
    blocks = sse_blocks(response)
    try:
        next(blocks), next(blocks)  # connected, queued
        assert next(blocks)["comments"] == ["keep-alive"]
        run = db.session.get(Run, run_id)
        run.status = RunStatus.CANCELED  # as if Redis had been down when it ended
        db.session.commit()
        rest = list(blocks)
    finally:
        response.close()
    assert rest[-1]["event"] == "end" and '"status": "canceled"' in rest[-1]["data"]


def test_chatty_run_is_sent_in_batches(member_client, member):
    run_id = start_run(member).id
    mark_running(run_id, "fake-worker")
    publish_many(
        redis_client(),
        run_id,
        [log_event("infer", str(i)) for i in range(1500)],
    )
    response = open_events(member_client, run_id)
    chunks = iter(response.response)
    try:
        next(chunks)  # connected
        first = next(chunks)
    finally:
        response.close()
    text = first.decode() if isinstance(first, bytes) else first
    assert text.count("event: ") == 500  # one write for a whole XREAD batch


def test_log_events_are_passed_on_as_stored_one_line_each_whatever_their_text(
    member_client, member
):
    run_id = start_run(member).id
    texts = ["naïve 数据 ✓", 'quote " and \\ backslash', "tab\there", "\u2028 line separator"]
    pass_run(run_id, [("infer", text) for text in texts])
    events = events_of(sse_blocks(open_events(member_client, run_id)))
    logs = [json.loads(e["data"]) for e in events if e["event"] == "log"]
    assert [item["line"] for event in logs for item in event["lines"]] == texts
    # The stored UTF-8 JSON text goes out unchanged: not decoded and escaped again.
    assert "naïve 数据 ✓" in next(e["data"] for e in events if e["event"] == "log")
