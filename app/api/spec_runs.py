"""The OpenAPI description of workflow tests, the caller's account and the document itself."""

from __future__ import annotations

from typing import Any

from app.api.spec_parts import (
    BOOLEAN,
    ID,
    INTEGER,
    NOT_FOUND,
    OBJECT,
    PAGING,
    STRING,
    TIME,
    error_answer,
    nullable,
    ok,
    operation,
    page_of,
    path_id,
    query,
    ref,
)
from app.models import RunKind, RunStatus, StepStatus
from workers.roles import SLOTS

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, for scripts"},
                    "message": {"type": "string", "description": "For people"},
                    "fields": {
                        "type": "object",
                        "description": "Messages by field path, as the forms show them",
                        "additionalProperties": {"type": "array", "items": STRING},
                    },
                },
            }
        },
    },
    "SlotInput": {
        "type": "object",
        "description": "A registered container by id, or an unregistered one by its links",
        "additionalProperties": False,
        "properties": {
            "container": {"type": ["integer", "string"], "description": "A registered id"},
            "config_url": {"type": "string", "maxLength": 2048},
            "config_sha256": STRING,
            "parameters_url": {"type": "string", "maxLength": 2048},
            "parameters_sha256": STRING,
            "additional_files_url": {"type": "string", "maxLength": 2048},
            "additional_files_sha256": STRING,
        },
    },
    "RunRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": [*SLOTS, "demo_url"],
        "properties": {
            **{slot: ref("SlotInput") for slot in SLOTS},
            "demo_url": {"type": "string", "maxLength": 2048},
            "demo_sha256": STRING,
        },
    },
    "Step": {
        "type": "object",
        "required": ["name", "status"],
        "properties": {
            "name": STRING,
            "status": {"enum": [s.value for s in StepStatus]},
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "exit_code": nullable(INTEGER),
            "message": nullable(STRING),
        },
    },
    "Run": {
        "type": "object",
        "required": ["id", "kind", "status", "steps", "links", "created_at"],
        "properties": {
            "id": INTEGER,
            "kind": {"enum": [k.value for k in RunKind]},
            "status": {"enum": [s.value for s in RunStatus]},
            "requester": {"type": "object", "properties": {"id": INTEGER, "name": STRING}},
            "benchmark_id": nullable(INTEGER),
            "rerun_of_id": nullable(INTEGER),
            "inputs": OBJECT,
            "demo_url": STRING,
            "demo_sha256": nullable(STRING),
            "created_at": TIME,
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "queue_position": nullable(INTEGER),
            "dispatched": BOOLEAN,
            "cancel_requested": BOOLEAN,
            "steps": {"type": "array", "items": ref("Step")},
            "results": nullable(OBJECT),
            "statistics": nullable(OBJECT),
            "prepared_data_uid": nullable(STRING),
            "hashes": nullable(OBJECT),
            "digests": nullable(OBJECT),
            "failure_cause": nullable(STRING),
            "failure_summary": nullable(STRING),
            "links": {"type": "object", "additionalProperties": STRING},
        },
    },
    "RunPage": page_of("Run"),
    "Me": {
        "type": "object",
        "required": ["id", "email", "name", "is_admin", "token"],
        "properties": {
            "id": INTEGER,
            "email": STRING,
            "name": STRING,
            "is_admin": BOOLEAN,
            "token": nullable(
                {
                    "type": "object",
                    "properties": {
                        "name": STRING,
                        "scopes": {"type": "array", "items": {"enum": ["read", "write", "admin"]}},
                        "expires_at": nullable(TIME),
                    },
                }
            ),
        },
    },
    "LogPage": {
        "type": "object",
        "required": ["lines", "next_cursor", "finished"],
        "properties": {
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": nullable(STRING),
                        # Who wrote the line: Benchgate itself or a container (None: a
                        # line stored before sources were recorded).
                        "src": nullable({"type": "string", "enum": ["benchgate", "container"]}),
                        "line": STRING,
                        "t": nullable({"type": ["number", "string"]}),
                    },
                },
            },
            "next_cursor": STRING,
            "finished": BOOLEAN,
        },
    },
}

RUN_PATHS: dict[str, Any] = {
    "/runs": {
        "get": operation(
            "List your workflow tests, newest first",
            ok(ref("RunPage")),
            tag="runs",
            parameters=[
                *PAGING,
                query("status", {"enum": [s.value for s in RunStatus]}, "Only runs in it"),
                query("kind", {"enum": [k.value for k in RunKind]}, "Only runs of this kind"),
                query("benchmark_id", ID, "Only its runs"),
                query("all", {"enum": ["0", "1"]}, "Administrators: everyone's runs"),
            ],
        ),
        "post": operation(
            "Start a workflow test",
            ok(ref("Run"), "Queued", "201"),
            tag="runs",
            body=ref("RunRequest"),
            scope="write",
        ),
    },
    "/runs/{run_id}": {
        "get": operation(
            "Read a run",
            {**ok(ref("Run")), **NOT_FOUND},
            tag="runs",
            parameters=[path_id("run_id")],
        ),
    },
    "/runs/{run_id}/cancel": {
        "post": operation(
            "Cancel a run that has not ended",
            {**ok(ref("Run")), **NOT_FOUND, "409": error_answer("The run has ended")},
            tag="runs",
            parameters=[path_id("run_id")],
            scope="write",
        ),
    },
    "/runs/{run_id}/rerun": {
        "post": operation(
            "Run a test again with the same inputs",
            {
                **ok(ref("Run"), "Queued", "201"),
                **NOT_FOUND,
                "422": error_answer("The inputs can no longer be used"),
            },
            tag="runs",
            parameters=[path_id("run_id")],
            scope="write",
        ),
    },
    "/runs/{run_id}/log": {
        "get": operation(
            "Read the log a page at a time",
            {
                **ok(ref("LogPage")),
                **NOT_FOUND,
                "422": error_answer("A cursor that no page gave"),
                "503": error_answer("Redis cannot be reached"),
            },
            tag="runs",
            parameters=[
                path_id("run_id"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Lines"),
                query("cursor", STRING, "The next_cursor of the previous page"),
            ],
        ),
    },
    "/runs/{run_id}/events": {
        "get": operation(
            "Follow the run as Server-Sent Events (log, step, status, end)",
            {
                "200": {
                    "description": "An event stream",
                    "content": {"text/event-stream": {"schema": STRING}},
                },
                **NOT_FOUND,
            },
            tag="runs",
            parameters=[path_id("run_id"), query("last_id", STRING, "Resume after this event id")],
        ),
    },
    "/runs/{run_id}/log.txt": {
        "get": operation(
            "Download the whole log as text",
            {
                "200": {"description": "The log", "content": {"text/plain": {"schema": STRING}}},
                **NOT_FOUND,
                "503": {
                    "description": "Redis cannot be reached",
                    "content": {"text/plain": {"schema": STRING}},
                },
            },
            tag="runs",
            parameters=[path_id("run_id")],
        ),
    },
}

ACCOUNT_PATHS: dict[str, Any] = {
    "/me": {
        "get": operation("Who the token signs in as", ok(ref("Me")), tag="account"),
    },
}

DOC_PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": operation("This document", ok(OBJECT), tag="meta", public=True),
    },
    "/docs": {
        "get": operation(
            "This document as a page",
            {"200": {"description": "A page", "content": {"text/html": {"schema": STRING}}}},
            tag="meta",
            public=True,
        ),
    },
}
