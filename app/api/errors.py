"""The API's errors: JSON with a stable code, a message and, for bad input, field paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from app.api import bp
from app.services.errors import Refusal

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success, for the caller: status, code, message, field errors."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, Sequence[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = {key: list(value) for key, value in (fields or {}).items()}
        self.headers = headers or {}


def error_response(error: ApiError) -> Response:
    """The JSON body and status of an error."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    response = jsonify({"error": body})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def is_api_request() -> bool:
    """Tell whether the request is for the API (its errors are JSON, never pages)."""
    return request.path.startswith(bp.url_prefix + "/") or request.path == bp.url_prefix


def http_error(error: HTTPException) -> Response:
    """An HTTP error raised anywhere in an API request, as JSON."""
    status = error.code or 500
    message = error.description or "Something went wrong."
    if status == 500:
        message = "Something went wrong on the server; it is logged."
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(ApiError(status, HTTP_CODES.get(status, "error"), message, None, headers))


def invalid(fields: Mapping[str, Sequence[str]], message: str | None = None) -> ApiError:
    """A 422 for input that fails checks; messages of no field ("" key) go to the message."""
    general = [m for m in fields.get("", [])]
    by_field = {key: list(value) for key, value in fields.items() if key and value}
    text = message or " ".join(general) or "Some fields need changes: see fields."
    return ApiError(422, "invalid", text, by_field)


@bp.app_errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error)


def refusal_error(refusal: Refusal) -> ApiError:
    """A service's refusal as the API's 422, its field errors under `fields`."""
    return invalid(refusal.errors, message=refusal.message)


@bp.errorhandler(Refusal)
def _refusal(refusal: Refusal):
    return error_response(refusal_error(refusal))
