"""The OpenAPI 3.1 document of the API, kept beside the views (a test checks they match)."""

from __future__ import annotations

from functools import cache
from typing import Any

from app.api.spec_more import MORE_PATHS, MORE_SCHEMAS
from app.api.spec_runs import ACCOUNT_PATHS, DOC_PATHS, RUN_PATHS, SCHEMAS

VERSION = "1.0.0"


def all_paths() -> dict[str, Any]:
    return {**ACCOUNT_PATHS, **RUN_PATHS, **MORE_PATHS, **DOC_PATHS}


@cache
def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
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
