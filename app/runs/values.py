"""Results and statistics on the pages, bounded; and in full, as JSON, for download.

A container decides how many values it writes (up to the worker's 16 MiB YAML cap, stored in
the database as JSON). A page shows the first SHOWN_VALUES of them, each key and value clipped
to a few hundred characters, and says how many there are; the download has every one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response

from app.runs import bp
from app.runs.display import format_value

SHOWN_VALUES = 200
CLIPPED_CHARS = 300


@dataclass(frozen=True)
class Shown:
    """The first rows of a flattened mapping, and how many rows it has in all."""

    rows: list[tuple[str, str]]
    total: int

    @property
    def partial(self) -> bool:
        return self.total > len(self.rows)


def clip(text: str, limit: int = CLIPPED_CHARS) -> str:
    """Cut a text to limit characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_of(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) > CLIPPED_CHARS:
        # A list of a million numbers is one value: never write it all out to clip it.
        value = value[:CLIPPED_CHARS]
        return clip(format_value(value) + ", …")
    return clip(format_value(value))


def leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, value) for every leaf of a nested mapping, in the mapping's order."""
    stack: list[Iterator[tuple[str, Any]]] = [iter([(prefix, value)])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        name, current = item
        if isinstance(current, Mapping) and (current or not name):
            stack.append(_children(name, current))
        elif isinstance(current, Mapping):
            yield name, "{}"
        else:
            yield name or "value", current


def _children(name: str, mapping: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, child in mapping.items():
        yield (f"{name}.{key}" if name else str(key)), child


def shown_values(values: Any, limit: int = SHOWN_VALUES) -> Shown:
    """Flatten a results or statistics mapping into its first `limit` rows and a total count."""
    rows: list[tuple[str, str]] = []
    total = 0
    for name, value in leaves(values, ""):
        total += 1
        if len(rows) < limit:
            rows.append((clip(name), value if value == "{}" else text_of(value)))
    return Shown(rows, total)


bp.add_app_template_filter(shown_values, "shown_values")


def values_download(values: Mapping[str, Any] | None, filename: str) -> Response:
    """The whole mapping as an indented JSON file to save."""
    body = json.dumps(values or {}, indent=2, ensure_ascii=False) + "\n"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
