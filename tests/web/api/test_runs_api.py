"""Workflow tests through the API: the form's checks, visibility, cancel, re-run, logs, paging."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Run, RunStatus
from app.runs import stream as stream_module
from app.runs.stream_slots import init_stream_slots
from app.services.queue import redis_client
from app.services.run_events import publish_many
from app.settings import reconfigure
from tests.support.accounts import make_user
from tests.support.api import call, make_token
from tests.support.runs import DEMO, fail_run, log_event, make_trio, pass_run, start_run
from tests.support.web import sse_blocks


@pytest.fixture
def token(member):
    return make_token(member)


def trio_body(trio) -> dict:
    prep, model, evaluator = trio
    return {
        "data_preparator": {"container": prep.id},
        "model": {"container": model.id},
        "evaluator": {"container": evaluator.id},
        "demo_url": DEMO,
    }


def test_a_test_of_registered_containers_is_queued_for_the_token_owner(client, member, token):
    answer = call(client, "POST", "/runs", token, json=trio_body(make_trio(member)))
    assert answer.status_code == 201, answer.json
    run = db.session.scalar(select(Run))
    assert answer.json["id"] == run.id and answer.json["status"] == "queued"
    assert answer.headers["Location"].endswith(f"/api/v1/runs/{run.id}")
    assert run.requester_id == member.id and run.dispatched
    assert [s["name"] for s in answer.json["steps"]][:2] == ["fetch", "prepare"]


def test_a_test_given_by_links_keeps_every_link(client, member, token):
    body = {
        "data_preparator": {
            "config_url": "https://files.example.org/prep/container_config.yaml",
            "parameters_url": "https://files.example.org/prep/parameters.yaml",
        },
        "model": {"config_url": "https://files.example.org/model/container_config.yaml"},
        "evaluator": {"config_url": "https://files.example.org/eval/container_config.yaml"},
        "demo_url": DEMO,
        "demo_sha256": "AB" * 32,
    }
    answer = call(client, "POST", "/runs", token, json=body)
    assert answer.status_code == 201, answer.json
    run = db.session.get(Run, answer.json["id"])
    assert run.inputs["slots"]["data_preparator"]["parameters_url"].endswith("parameters.yaml")
    assert run.demo_sha256 == "ab" * 32


def test_bad_input_is_refused_with_the_form_field_paths(client, member, admin, token):
    prep, model, evaluator = make_trio(member)
    other = make_trio(admin, "Other")
    body = {
        "data_preparator": {"container": model.id},  # a model in the preparator's place
        "model": {"container": other[1].id},  # someone else's container in development
        "evaluator": {"config_url": "ftp://files.example.org/eval.yaml"},
        "demo_url": "not a link",
        "demo_sha256": "xyz",
    }
    answer = call(client, "POST", "/runs", token, json=body)
    assert answer.status_code == 422
    fields = answer.json["error"]["fields"]
    assert answer.json["error"]["code"] == "invalid"
    assert "is a model, not a data preparator" in fields["data_preparator.container"][0]
    assert fields["model.container"] == ["Choose one of the containers in the list."]
    assert "http://" in fields["evaluator.config_url"][0]
    assert set(fields) >= {"demo_url", "demo_sha256"}
    assert db.session.scalar(select(Run)) is None


def test_unknown_fields_and_non_json_bodies_are_refused(client, member, token):
    unknown = call(client, "POST", "/runs", token, json={"prep": 1})
    assert unknown.status_code == 422 and "prep" in unknown.json["error"]["fields"]
    text = call(client, "POST", "/runs", token, data="prep=1")
    assert text.status_code == 415
    array = call(client, "POST", "/runs", token, json=[1])
    assert array.status_code == 400


def test_another_members_run_is_404_everywhere(client, member, token):
    stranger = make_user("stranger@example.org", "Stan")
    run = start_run(stranger)
    for method, path in [
        ("GET", f"/runs/{run.id}"),
        ("POST", f"/runs/{run.id}/cancel"),
        ("POST", f"/runs/{run.id}/rerun"),
        ("GET", f"/runs/{run.id}/log"),
        ("GET", f"/runs/{run.id}/log.txt"),
        ("GET", f"/runs/{run.id}/events"),
    ]:
        answer = call(client, method, path, token)
        assert answer.status_code == 404, (method, path)
        assert answer.json["error"]["code"] == "not_found"


def test_an_administrator_reads_any_run(client, member, admin):
    run = start_run(member)
    answer = call(client, "GET", f"/runs/{run.id}", make_token(admin))
    assert answer.status_code == 200 and answer.json["requester"]["id"] == member.id


def test_cancel_ends_a_queued_run_and_a_second_cancel_conflicts(client, member, token):
    run = start_run(member)
    answer = call(client, "POST", f"/runs/{run.id}/cancel", token)
    assert answer.status_code == 200 and answer.json["status"] == "canceled"
    again = call(client, "POST", f"/runs/{run.id}/cancel", token)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"


def test_rerun_starts_a_new_run_with_the_same_inputs(client, member, token):
    run = start_run(member, make_trio(member))
    fail_run(run.id, summary="The model exited with code 3.")
    answer = call(client, "POST", f"/runs/{run.id}/rerun", token)
    assert answer.status_code == 201
    assert answer.json["rerun_of_id"] == run.id
    assert answer.json["inputs"] == db.session.get(Run, run.id).inputs


def test_the_log_is_read_a_page_at_a_time_from_the_live_stream(client, member, token):
    run = start_run(member)
    publish_many(redis_client(), run.id, [log_event("prepare", f"line {i}") for i in range(5)])
    first = call(client, "GET", f"/runs/{run.id}/log?limit=3", token).json
    assert [item["line"] for item in first["lines"]] == ["line 0", "line 1", "line 2"]
    assert first["finished"] is False
    rest = call(client, "GET", f"/runs/{run.id}/log?cursor={first['next_cursor']}", token).json
    assert [item["line"] for item in rest["lines"]] == ["line 3", "line 4"]
    assert rest["lines"][0]["step"] == "prepare"


def test_a_finished_runs_log_is_paged_from_the_database_once_redis_forgot_it(client, member, token):
    run = start_run(member)
    pass_run(run.id, [("prepare", "a"), ("infer", "b"), ("evaluate", "c")], results={"auc": 1})
    redis_client().delete(f"run:{run.id}:events")
    first = call(client, "GET", f"/runs/{run.id}/log?limit=2", token).json
    assert first["lines"] == [
        {"step": "prepare", "src": "container", "line": "a", "t": None},
        {"step": "infer", "src": "container", "line": "b", "t": None},
    ]
    assert first["finished"] is True
    rest = call(client, "GET", f"/runs/{run.id}/log?cursor={first['next_cursor']}", token).json
    assert [item["line"] for item in rest["lines"]] == ["c"]
    text = call(client, "GET", f"/runs/{run.id}/log.txt", token)
    assert text.get_data(as_text=True) == (
        "[prepare] [container] a\n[infer] [container] b\n[evaluate] [container] c\n"
    )


def test_the_events_stream_ends_with_the_runs_outcome(client, member, token):
    run = start_run(member)
    pass_run(run.id, [("infer", "predicting")], results={"auc": 0.5})
    answer = call(client, "GET", f"/runs/{run.id}/events", token, buffered=False)
    assert answer.mimetype == "text/event-stream"
    blocks = list(sse_blocks(answer))
    assert any("predicting" in block.get("data", "") for block in blocks)
    assert blocks[-1]["event"] == "end" and '"passed"' in blocks[-1]["data"]


def test_the_events_stream_stops_when_the_token_is_revoked(app, client, member, token, monkeypatch):
    from app.services.api_tokens import revoke_tokens_of

    monkeypatch.setattr(stream_module, "ACCESS_CHECK_SECONDS", 0.05)
    reconfigure(app, SSE_BLOCK_MS=50)
    run = start_run(member)
    answer = call(client, "GET", f"/runs/{run.id}/events", token, buffered=False)
    blocks = sse_blocks(answer)
    next(blocks)
    revoke_tokens_of(member, "revoked by its owner")
    db.session.commit()
    events = [block.get("event") for block in blocks]
    assert events[-1] == "signed_out"


def test_runs_are_listed_by_cursor_and_filtered_like_the_runs_page(client, member, token):
    runs = [start_run(member) for _ in range(3)]
    pass_run(runs[0].id)
    start_run(make_user("other@example.org", "Olga"))
    first = call(client, "GET", "/runs?limit=2", token).json
    assert [r["id"] for r in first["items"]] == [runs[2].id, runs[1].id]
    rest = call(client, "GET", f"/runs?limit=2&cursor={first['next_cursor']}", token).json
    assert [r["id"] for r in rest["items"]] == [runs[0].id] and rest["next_cursor"] is None
    passed = call(client, "GET", "/runs?status=passed", token).json
    assert [r["id"] for r in passed["items"]] == [runs[0].id]
    bad = call(client, "GET", "/runs?status=great", token)
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]


def test_reads_carry_an_etag_and_answer_304_until_the_run_changes(client, member, token):
    run = start_run(member)
    first = call(client, "GET", f"/runs/{run.id}", token)
    etag = first.headers["ETag"]
    same = call(client, "GET", f"/runs/{run.id}", token, headers={"If-None-Match": etag})
    assert same.status_code == 304
    pass_run(run.id)
    changed = call(client, "GET", f"/runs/{run.id}", token, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["status"] == RunStatus.PASSED.value


def test_a_log_read_before_anything_is_logged_keeps_its_cursor(client, member, token):
    run = start_run(member)
    redis_client().delete(f"run:{run.id}:events")
    empty = call(client, "GET", f"/runs/{run.id}/log", token).json
    assert empty == {"lines": [], "next_cursor": "0-0", "finished": False}
    publish_many(redis_client(), run.id, [log_event("fetch", "downloading")])
    later = call(client, "GET", f"/runs/{run.id}/log?cursor={empty['next_cursor']}", token).json
    assert [item["line"] for item in later["lines"]] == ["downloading"]
    bad = call(client, "GET", f"/runs/{run.id}/log?cursor=somewhere", token)
    assert bad.status_code == 422 and "cursor" in bad.json["error"]["fields"]


def test_the_events_stream_obeys_the_live_log_caps_of_the_pages(app, client, member, token):
    reconfigure(app, SSE_MAX_PER_MEMBER=0)  # each open stream holds a web thread
    init_stream_slots(app)
    run = start_run(member)
    answer = call(client, "GET", f"/runs/{run.id}/events", token)
    assert answer.status_code == 429 and answer.headers["Retry-After"]
    assert answer.json["error"]["code"] == "rate_limited"
