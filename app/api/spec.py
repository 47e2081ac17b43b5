"""The OpenAPI 3.1 document of the API, kept beside the views (a test checks they match)."""

from __future__ import annotations

from functools import cache
from typing import Any

from app.models import RunKind, RunStatus, StepStatus

VERSION = "1.0.0"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema, or null (OpenAPI 3.1 is JSON Schema: a type list)."""
    if "type" in schema and isinstance(schema["type"], str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
OBJECT = {"type": "object"}
SHA256 = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(ref("Error"))}


ERRORS = {
    "401": error_answer("No token, or a token that no longer works"),
    "403": error_answer("The token lacks a scope, or the account may not do this"),
    "429": error_answer("The token made too many requests"),
}


def operation(
    summary: str,
    answers: dict[str, Any],
    *,
    tag: str,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    scope: str = "read",
    public: bool = False,
) -> dict[str, Any]:
    """One operation, with the error answers every signed-in operation may give."""
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {**({} if public else ERRORS), **answers},
    }
    if public:
        op["security"] = []
    else:
        op["x-scope"] = scope
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(body)}
        op["responses"].setdefault("400", error_answer("The body is not a JSON object"))
        op["responses"].setdefault("415", error_answer("The body is not JSON"))
        op["responses"].setdefault("422", error_answer("Some fields need changes"))
    if parameters:
        op["parameters"] = parameters
        if any(p["in"] == "query" for p in parameters):
            op["responses"].setdefault("422", error_answer("A query parameter is not valid"))
    return op


def ok(schema: dict[str, Any], description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": json_content(schema)}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


MAX_ID = 2**31 - 1
ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}


def path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


NOT_FOUND = {"404": error_answer("Nothing by that id that you may see")}
PAGING = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Items per page"),
    query(
        "cursor",
        {"type": "string", "pattern": "^[0-9]{1,9}$"},
        "The next_cursor of the previous page",
    ),
]


def page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": nullable(STRING),
        },
    }


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
        "required": ["data_preparator", "model", "evaluator", "demo_url"],
        "properties": {
            "data_preparator": ref("SlotInput"),
            "model": ref("SlotInput"),
            "evaluator": ref("SlotInput"),
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


def all_paths() -> dict[str, Any]:
    from app.api.spec_more import MORE_PATHS

    return {**ACCOUNT_PATHS, **RUN_PATHS, **MORE_PATHS, **DOC_PATHS}


@cache
def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    from app.api.spec_more import MORE_SCHEMAS

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Benchgate API",
            "version": VERSION,
            "description": (
                "Scripts and CI jobs use Benchgate with a personal access token (make one on "
                "your account page) sent as `Authorization: Bearer <token>`. Every answer "
                "follows the same rules as the pages: what you may not see is a 404. Errors "
                'are JSON: `{"error": {"code", "message", "fields"}}`. Lists are '
                "paged by cursor: pass a page's `next_cursor` as `cursor`. Reads carry an "
                "ETag; send it back as If-None-Match to get 304 when nothing changed."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (bgt_...)",
                },
            },
            "schemas": {**SCHEMAS, **MORE_SCHEMAS},
        },
        "paths": all_paths(),
    }
