"""The OpenAPI description of containers, benchmarks, join requests, review, notifications."""

from __future__ import annotations

from typing import Any

from app.api.spec_parts import (
    BOOLEAN,
    INTEGER,
    LINK,
    MINE,
    NOT_FOUND,
    OBJECT,
    OWNER,
    PAGING,
    SEARCH,
    STRING,
    TIME,
    action,
    fields,
    item,
    nullable,
    ok,
    operation,
    page_of,
    path_id,
    query,
    ref,
)
from app.models import BenchmarkStatus, ContainerState, JoinRequestStatus, Role
from app.models.enums import JOIN_POLICIES
from app.review.forms import DECISIONS

CONTAINER_FIELDS = {
    "name": {"type": "string", "maxLength": 128},
    "config_url": LINK,
    "config_sha256": nullable(STRING),
    "parameters_url": nullable(LINK),
    "parameters_sha256": nullable(STRING),
    "additional_files_url": nullable(LINK),
    "additional_files_sha256": nullable(STRING),
    "image_digest": nullable(STRING),
    "operational": {"type": "boolean", "description": "Freeze it now (final)"},
}
BENCHMARK_FIELDS = {
    "name": {"type": "string", "maxLength": 128},
    "description": {"type": "string", "maxLength": 5000},
    "docs_url": nullable(LINK),
    "demo_url": LINK,
    "demo_sha256": nullable(STRING),
    "prep_id": {"type": ["integer", "string"]},
    "model_id": {"type": ["integer", "string"]},
    "evaluator_id": {"type": ["integer", "string"]},
    "make_operational": BOOLEAN,
}

MORE_SCHEMAS: dict[str, Any] = {
    "Container": {
        "type": "object",
        "required": ["id", "name", "role", "state", "is_valid", "owner"],
        "properties": {
            "id": INTEGER,
            "name": STRING,
            "role": {"enum": [r.value for r in Role]},
            "state": {"enum": [s.value for s in ContainerState]},
            "is_valid": BOOLEAN,
            "owner": OWNER,
            "image": STRING,
            "image_digest": nullable(STRING),
            "config_url": STRING,
            "config_sha256": STRING,
            "parameters_url": nullable(STRING),
            "parameters_sha256": nullable(STRING),
            "additional_files_url": nullable(STRING),
            "additional_files_sha256": nullable(STRING),
            "config_text": STRING,
            "parameters": nullable(OBJECT),
            "created_at": TIME,
            "updated_at": TIME,
            "links": {"type": "object", "additionalProperties": STRING},
        },
    },
    "ContainerPage": page_of("Container"),
    "ContainerRequest": fields(CONTAINER_FIELDS, ["name", "config_url"]),
    "ContainerChange": fields(CONTAINER_FIELDS),
    "Benchmark": {
        "type": "object",
        "required": ["id", "name", "status", "owner"],
        "properties": {
            "id": INTEGER,
            "name": STRING,
            "description": STRING,
            "docs_url": nullable(STRING),
            "status": {"enum": [s.value for s in BenchmarkStatus]},
            "owner": OWNER,
            "demo_url": STRING,
            "demo_sha256": nullable(STRING),
            "prepared_data_uid": nullable(STRING),
            "prep_id": INTEGER,
            "model_id": INTEGER,
            "evaluator_id": INTEGER,
            "run_id": nullable(INTEGER),
            "results": nullable(OBJECT),
            "make_operational": BOOLEAN,
            "join_policy": STRING,
            "join_allowlist": nullable(STRING),
            "created_at": TIME,
            "updated_at": TIME,
            "submitted_at": TIME,
            "links": {"type": "object", "additionalProperties": STRING},
        },
    },
    "BenchmarkPage": page_of("Benchmark"),
    "BenchmarkRequest": fields(
        BENCHMARK_FIELDS,
        ["name", "description", "demo_url", "prep_id", "model_id", "evaluator_id"],
    ),
    "BenchmarkChange": fields(BENCHMARK_FIELDS),
    "JoinPolicy": fields(
        {"policy": {"enum": list(JOIN_POLICIES)}, "allowlist": STRING}, ["policy"]
    ),
    "JoinRequest": {
        "type": "object",
        "required": ["id", "benchmark_id", "model_id", "status"],
        "properties": {
            "id": INTEGER,
            "benchmark_id": INTEGER,
            "model_id": INTEGER,
            "model_name": STRING,
            "requested_by": OWNER,
            "status": {"enum": [s.value for s in JoinRequestStatus]},
            "run_id": nullable(INTEGER),
            "results": nullable(OBJECT),
            "reason": nullable(STRING),
            "decided_by_id": nullable(INTEGER),
            "created_at": TIME,
            "decided_at": nullable(TIME),
        },
    },
    "JoinRequestPage": page_of("JoinRequest"),
    "Evidence": {
        "type": "object",
        "required": ["benchmark", "run", "inputs", "history"],
        "properties": {
            "benchmark": ref("Benchmark"),
            "run": nullable(ref("Run")),
            "inputs": {"type": "array", "items": OBJECT},
            "history": {"type": "array", "items": OBJECT},
        },
    },
    "Notification": {
        "type": "object",
        "required": ["id", "message", "created_at"],
        "properties": {
            "id": INTEGER,
            "message": STRING,
            "url": nullable(STRING),
            "created_at": TIME,
            "read_at": nullable(TIME),
        },
    },
    "NotificationPage": {
        **page_of("Notification"),
        "properties": {**page_of("Notification")["properties"], "unread": INTEGER},
    },
}


MORE_PATHS: dict[str, Any] = {
    "/containers": {
        "get": operation(
            "The container catalogue, newest first",
            ok(ref("ContainerPage")),
            tag="containers",
            parameters=[
                *PAGING,
                SEARCH,
                MINE,
                query("role", {"enum": [r.value for r in Role]}, "Only this role"),
            ],
        ),
        "post": operation(
            "Register a container (its files are fetched and checked)",
            ok(ref("Container"), "Registered", "201"),
            tag="containers",
            body=ref("ContainerRequest"),
            scope="write",
        ),
    },
    "/containers/{container_id}": {
        **item("containers", "Container", "container_id"),
        "patch": action(
            "Edit a container in development",
            "Container",
            "containers",
            "container_id",
            body=ref("ContainerChange"),
        ),
    },
    "/containers/{container_id}/operational": {
        "post": action(
            "Make a container operational (frozen for good)",
            "Container",
            "containers",
            "container_id",
        ),
    },
    "/containers/{container_id}/invalidate": {
        "post": action(
            "Mark a container invalid",
            "Container",
            "containers",
            "container_id",
            body=fields({"reason": {"type": "string", "maxLength": 2000}}),
        ),
    },
    "/containers/{container_id}/rehost": {
        "post": action(
            "Move one of a container's files to a new link serving the very same file",
            "Container",
            "containers",
            "container_id",
            body=fields(
                {"file": {"enum": ["config", "parameters", "additional_files"]}, "url": LINK},
                ["file", "url"],
            ),
        ),
    },
    "/benchmarks": {
        "get": operation(
            "Approved benchmarks and your own, newest first",
            ok(ref("BenchmarkPage")),
            tag="benchmarks",
            parameters=[
                *PAGING,
                SEARCH,
                MINE,
                query("status", {"enum": [s.value for s in BenchmarkStatus]}, "Only in it"),
            ],
        ),
        "post": operation(
            "Submit a benchmark (its compatibility test starts)",
            ok(ref("Benchmark"), "Submitted", "201"),
            tag="benchmarks",
            body=ref("BenchmarkRequest"),
            scope="write",
        ),
    },
    "/benchmarks/{benchmark_id}": {
        **item("benchmarks", "Benchmark", "benchmark_id"),
        "patch": action(
            "Edit a benchmark before a decision",
            "Benchmark",
            "benchmarks",
            "benchmark_id",
            body=ref("BenchmarkChange"),
        ),
    },
    "/benchmarks/{benchmark_id}/retest": {
        "post": action(
            "Test a benchmark again, unchanged", "Benchmark", "benchmarks", "benchmark_id"
        ),
    },
    "/benchmarks/{benchmark_id}/join-policy": {
        "put": action(
            "Set the join policy", "Benchmark", "benchmarks", "benchmark_id", body=ref("JoinPolicy")
        ),
    },
    "/benchmarks/{benchmark_id}/join-requests": {
        "get": operation(
            "Requests to join it (the owner: all; others: their own)",
            {**ok(ref("JoinRequestPage")), **NOT_FOUND},
            tag="joins",
            parameters=[
                path_id("benchmark_id"),
                *PAGING,
                query("status", {"enum": [s.value for s in JoinRequestStatus]}, "Only in it"),
            ],
        ),
        "post": operation(
            "Ask to join with a model (its test starts)",
            {**ok(ref("JoinRequest"), "Asked", "201"), **NOT_FOUND},
            tag="joins",
            parameters=[path_id("benchmark_id")],
            scope="write",
            body=fields({"model_id": {"type": ["integer", "string"]}}, ["model_id"]),
        ),
    },
    "/join-requests": {
        "get": operation(
            "The requests you made, newest first",
            ok(ref("JoinRequestPage")),
            tag="joins",
            parameters=[
                *PAGING,
                query("status", {"enum": [s.value for s in JoinRequestStatus]}, "Only in it"),
            ],
        ),
    },
    "/join-requests/{request_id}": item("joins", "JoinRequest", "request_id"),
    "/join-requests/{request_id}/decision": {
        "post": action(
            "Approve or reject a request (a rejection needs a reason)",
            "JoinRequest",
            "joins",
            "request_id",
            body=fields(
                {"approve": BOOLEAN, "reason": {"type": "string", "maxLength": 5000}}, ["approve"]
            ),
        ),
    },
    "/review/queue": {
        "get": operation(
            "Benchmarks awaiting a decision (administrators)",
            ok(ref("BenchmarkPage")),
            tag="review",
            parameters=PAGING,
            scope="admin",
        ),
    },
    "/review/{benchmark_id}": {
        "get": operation(
            "What a decision rests on (administrators)",
            {**ok(ref("Evidence")), **NOT_FOUND},
            tag="review",
            parameters=[path_id("benchmark_id")],
            scope="admin",
        ),
    },
    "/review/{benchmark_id}/decision": {
        "post": action(
            "Decide on a benchmark, with a reason for all but approval (administrators)",
            "Benchmark",
            "review",
            "benchmark_id",
            scope="admin",
            body=fields(
                {
                    "decision": {"enum": list(DECISIONS)},
                    "reason": {"type": "string", "maxLength": 5000},
                },
                ["decision"],
            ),
        ),
    },
    "/notifications": {
        "get": operation(
            "Your notifications, newest first",
            ok(ref("NotificationPage")),
            tag="notifications",
            parameters=[*PAGING, query("unread", {"enum": ["0", "1"]}, "Only unread ones")],
        ),
    },
    "/notifications/{notification_id}/read": {
        "post": operation(
            "Mark a notification read",
            {**ok(ref("Notification")), **NOT_FOUND},
            tag="notifications",
            parameters=[path_id("notification_id")],
            scope="write",
        ),
    },
    "/notifications/read-all": {
        "post": operation(
            "Mark every notification read",
            ok(fields({"marked_read": INTEGER}, ["marked_read"])),
            tag="notifications",
            scope="write",
        ),
    },
}
