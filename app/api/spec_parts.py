"""Building blocks of the API's OpenAPI document: schemas, answers, parameters, operations."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    """Point to a schema of the components."""
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
    """A JSON body of this schema."""
    return {"application/json": {"schema": schema}}


def error_answer(description: str) -> dict[str, Any]:
    """An error answer (the Error schema) with this description."""
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
    """A successful JSON answer of this schema."""
    return {status: {"description": description, "content": json_content(schema)}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query parameter."""
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
    """A record's id in the path."""
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
    """A cursor page of items of this schema."""
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": nullable(STRING),
        },
    }


LINK = {"type": "string", "maxLength": 2048}
OWNER = {"type": "object", "properties": {"id": INTEGER, "name": STRING}}
FORBIDDEN = {"403": error_answer("Not yours to change")}
CONFLICT = {"409": error_answer("Not possible in its present state")}


def fields(names: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object of exactly these properties."""
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": names}
    if required:
        schema["required"] = required
    return schema


SEARCH = query("q", {"type": "string", "maxLength": 128}, "Name contains")
MINE = query("mine", {"enum": ["0", "1"]}, "Only the caller's")


def item(tag: str, name: str, param: str) -> dict[str, Any]:
    """The GET operation of one record."""
    return {
        "get": operation(
            f"Read a {tag[:-1]}",
            {**ok(ref(name)), **NOT_FOUND},
            tag=tag,
            parameters=[path_id(param)],
        )
    }


def action(
    summary: str, answer: str, tag: str, param: str, *, body=None, scope="write", extra=None
) -> dict[str, Any]:
    """An operation on one record that its owner may be refused (403, 409)."""
    answers = {**ok(ref(answer)), **NOT_FOUND, **FORBIDDEN, **CONFLICT, **(extra or {})}
    return operation(summary, answers, tag=tag, body=body, parameters=[path_id(param)], scope=scope)
