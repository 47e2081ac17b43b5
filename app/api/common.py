"""Shared pieces of the API's views: JSON bodies in, cursor pages and ETags out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import Select

from app.api import bp
from app.api.errors import ApiError
from app.services.paging import keyset_page
from app.settings import settings

DEFAULT_LIMIT = 50
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400/415 saying what is wrong with it."""
    if not request.is_json:
        raise ApiError(
            415, "unsupported_media_type", "Send a JSON object with Content-Type: application/json."
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    nul = [key for key, value in data.items() if _has_nul(key) or _has_nul(value)]
    if nul:
        raise ApiError(
            422, "invalid", "Text cannot hold NUL characters.", {k: [NUL_MESSAGE] for k in nul}
        )
    return data


NUL_MESSAGE = "Remove the NUL character (\\u0000): no field can hold one."


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


@bp.before_request
def refuse_nul_in_query():
    """Refuse a NUL character in the query: PostgreSQL text cannot hold one."""
    nul = [key for key, value in request.args.items(multi=True) if _has_nul(key + value)]
    if nul:
        raise ApiError(
            422, "invalid", "The query cannot hold NUL characters.", {k: [NUL_MESSAGE] for k in nul}
        )


def moment(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 in UTC, or None."""
    return value.isoformat() if value is not None else None


def page_limit() -> int:
    """The `limit` query parameter: how many items a page holds (1 to API_PAGE_MAX)."""
    raw = request.args.get("limit", "")
    top = settings().api_page_max
    if not raw:
        return min(DEFAULT_LIMIT, top)
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise ApiError(
            422,
            "invalid",
            f"limit is a whole number from 1 to {top}.",
            {"limit": [f"Give a whole number from 1 to {top}."]},
        )
    return int(raw)


def int_arg(name: str) -> int | None:
    """An optional whole-number query parameter; a 422 when it is not one."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        raise ApiError(
            422, "invalid", f"{name} is a whole number.", {name: [f"Give a number up to {MAX_ID}."]}
        )
    return int(raw)


def choice_arg(name: str, choices: Mapping[str, Any] | list[str]) -> str | None:
    """An optional query parameter that must be one of choices."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        allowed = ", ".join(choices)
        raise ApiError(
            422, "invalid", f"{name} is one of {allowed}.", {name: [f"One of {allowed}."]}
        )
    return raw


def cursor_page(query: Select, id_column, present) -> dict[str, Any]:
    """A page of query's rows, newest (highest id) first, after the `cursor` parameter.

    The cursor is the id of the last item of the previous page: a page never repeats or skips
    an item when new ones arrive meanwhile, as page numbers would.
    """
    found = keyset_page(query, id_column, after=int_arg("cursor"), limit=page_limit())
    return {"items": [present(row) for row in found.items], "next_cursor": found.next_cursor}


def created(body: dict[str, Any], location: str) -> Response:
    """A 201 answer with the new resource and its address."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.after_request
def etag_reads(response: Response) -> Response:
    """Give every JSON read an ETag, and answer 304 when the client already has it."""
    if (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and response.mimetype == "application/json"
        and not response.is_streamed
    ):
        response.headers["Cache-Control"] = "private, no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response
