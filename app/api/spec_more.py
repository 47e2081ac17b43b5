"""The OpenAPI description of the API's containers, benchmarks, joins, review, notifications."""

from __future__ import annotations

from typing import Any

MORE_PATHS: dict[str, Any] = {}
MORE_SCHEMAS: dict[str, Any] = {}
