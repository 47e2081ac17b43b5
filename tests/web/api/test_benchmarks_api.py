"""Benchmarks, join requests, review and notifications through the API."""

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Benchmark,
    BenchmarkStatus,
    JoinRequest,
    JoinRequestStatus,
    Notification,
    RunStatus,
)
from app.services.notifications import notify
from app.services.runs import finish_run, mark_running
from tests.support.accounts import make_user
from tests.support.api import call, make_token
from tests.support.benchmarks import finish_test, make_trio, record_benchmark, serve_demo
from tests.support.containers import make_container


def body_for(trio, demo_url: str, **overrides) -> dict:
    prep, model, evaluator = trio
    return {
        "name": "Chest X-ray pneumonia 2025",
        "description": "Detects pneumonia on chest X-rays.",
        "demo_url": demo_url,
        "prep_id": prep.id,
        "model_id": model.id,
        "evaluator_id": evaluator.id,
        "make_operational": True,
        **overrides,
    }


def test_a_submitted_benchmark_starts_its_test(client, member, assets):
    token = make_token(member)
    answer = call(
        client, "POST", "/benchmarks", token, json=body_for(make_trio(member), serve_demo(assets))
    )
    assert answer.status_code == 201, answer.json
    benchmark = db.session.scalar(select(Benchmark))
    assert answer.json["status"] == "testing" and answer.json["run_id"] == benchmark.run_id
    assert benchmark.owner_id == member.id and benchmark.make_operational


def test_a_refused_submission_reports_every_field_at_once(client, member, admin, assets):
    token = make_token(member)
    others = make_trio(admin, "Other")
    body = body_for(others, "ftp://nowhere/demo.tar.gz", name="", prep_id=others[0].id)
    answer = call(client, "POST", "/benchmarks", token, json=body)
    assert answer.status_code == 422
    fields = answer.json["error"]["fields"]
    assert {"name", "demo_url", "prep_id", "model_id", "evaluator_id"} <= set(fields)
    assert db.session.scalar(select(Benchmark)) is None


def test_a_benchmark_awaiting_review_is_404_to_other_members(client, member):
    benchmark = record_benchmark(
        member, make_trio(member), "Secret", BenchmarkStatus.PENDING_APPROVAL
    )
    stranger = make_token(make_user("s@example.org", "Sam"))
    assert call(client, "GET", f"/benchmarks/{benchmark.id}", stranger).status_code == 404
    listed = call(client, "GET", "/benchmarks", stranger).json
    assert listed["items"] == []
    owner = call(client, "GET", "/benchmarks?mine=1", make_token(member)).json
    assert [b["id"] for b in owner["items"]] == [benchmark.id]


def test_an_edit_of_what_was_tested_tests_again(client, member, assets):
    token = make_token(member)
    created = call(
        client, "POST", "/benchmarks", token, json=body_for(make_trio(member), serve_demo(assets))
    ).json
    benchmark = db.session.get(Benchmark, created["id"])
    finish_test(benchmark, RunStatus.FAILED)
    retested = call(client, "POST", f"/benchmarks/{benchmark.id}/retest", token)
    assert retested.status_code == 200 and retested.json["run_id"] != created["run_id"]
    renamed = call(client, "PATCH", f"/benchmarks/{benchmark.id}", token, json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json["name"] == "Renamed"


def test_review_decisions_need_an_admin_token_and_a_reason(client, member, admin):
    benchmark = record_benchmark(
        member, make_trio(member), "Chest", BenchmarkStatus.PENDING_APPROVAL
    )
    member_token, admin_token = make_token(member), make_token(admin, scopes=("write", "admin"))
    write_only = make_token(admin)
    assert call(client, "GET", "/review/queue", member_token).status_code == 403
    assert (
        call(client, "GET", "/review/queue", write_only).json["error"]["code"]
        == "insufficient_scope"
    )
    queue = call(client, "GET", "/review/queue", admin_token).json
    assert [b["id"] for b in queue["items"]] == [benchmark.id]
    evidence = call(client, "GET", f"/review/{benchmark.id}", admin_token).json
    assert evidence["benchmark"]["name"] == "Chest" and evidence["run"] is None
    path = f"/review/{benchmark.id}/decision"
    no_reason = call(client, "POST", path, admin_token, json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    approved = call(client, "POST", path, admin_token, json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    again = call(client, "POST", path, admin_token, json={"decision": "approve"})
    assert again.status_code == 409


def test_a_join_request_is_asked_listed_and_decided(client, member, admin):
    benchmark = record_benchmark(
        admin, make_trio(admin, operational=True), "Chest", BenchmarkStatus.APPROVED
    )
    model = make_container(member, "My model")
    asker, owner = make_token(member), make_token(admin)
    asked = call(
        client,
        "POST",
        f"/benchmarks/{benchmark.id}/join-requests",
        asker,
        json={"model_id": model.id},
    )
    assert asked.status_code == 201, asked.json
    assert asked.json["status"] == JoinRequestStatus.TESTING.value
    join = db.session.scalar(select(JoinRequest))
    assert call(client, "GET", "/join-requests", asker).json["items"][0]["id"] == join.id
    assert (
        call(
            client, "GET", f"/join-requests/{join.id}", make_token(make_user("x@example.org", "X"))
        ).status_code
        == 404
    )
    early = call(
        client, "POST", f"/join-requests/{join.id}/decision", owner, json={"approve": True}
    )
    assert early.status_code == 409
    mark_running(join.run_id, "test-worker")
    finish_run(join.run_id, RunStatus.PASSED, results={"auc": 0.9})
    listed = call(
        client, "GET", f"/benchmarks/{benchmark.id}/join-requests?status=pending", owner
    ).json
    assert [r["id"] for r in listed["items"]] == [join.id]
    own = call(client, "POST", f"/join-requests/{join.id}/decision", asker, json={"approve": True})
    assert own.status_code == 403
    rejected = call(
        client, "POST", f"/join-requests/{join.id}/decision", owner, json={"approve": False}
    )
    assert rejected.status_code == 422 and "reason" in rejected.json["error"]["fields"]
    approved = call(
        client, "POST", f"/join-requests/{join.id}/decision", owner, json={"approve": True}
    )
    assert approved.status_code == 200 and approved.json["status"] == "approved"


def test_the_join_policy_is_set_by_the_owner_only(client, member, admin):
    benchmark = record_benchmark(member, make_trio(member), "Chest", BenchmarkStatus.APPROVED)
    path = f"/benchmarks/{benchmark.id}/join-policy"
    other = make_token(make_user("o@example.org", "O"))
    assert call(client, "PUT", path, other, json={"policy": "always"}).status_code == 403
    empty = call(client, "PUT", path, make_token(member), json={"policy": "list"})
    assert empty.status_code == 422 and "allowlist" in empty.json["error"]["fields"]
    done = call(
        client,
        "PUT",
        path,
        make_token(member),
        json={"policy": "list", "allowlist": "o@example.org"},
    )
    assert done.status_code == 200 and done.json["join_policy"] == "list"
    assert done.json["join_allowlist"] == "o@example.org"
    assert call(client, "GET", f"/benchmarks/{benchmark.id}", other).json["join_allowlist"] is None


def test_notifications_are_listed_and_marked_read(client, member, admin):
    notify(member, "First")
    notify(member, "Second")
    notify(admin, "Not yours")
    db.session.commit()
    token = make_token(member)
    listed = call(client, "GET", "/notifications?unread=1", token).json
    assert [n["message"] for n in listed["items"]] == ["Second", "First"] and listed["unread"] == 2
    first_id = listed["items"][1]["id"]
    read = call(client, "POST", f"/notifications/{first_id}/read", token)
    assert read.status_code == 200 and read.json["read_at"] is not None
    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == admin.id))
    assert call(client, "POST", f"/notifications/{theirs}/read", token).status_code == 404
    assert call(client, "POST", "/notifications/read-all", token).json == {"marked_read": 1}
