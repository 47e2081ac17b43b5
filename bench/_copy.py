"""Rows into PostgreSQL with COPY, checked against the model's table first."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg


def copy_rows(conn: psycopg.Connection, model: type, rows: Iterable[dict[str, Any]]) -> None:
    """COPY rows (dicts with the same keys) into the model's table."""
    iterator: Iterator[dict[str, Any]] = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    table = model.__table__
    columns = list(first)
    unknown = set(columns) - set(table.columns.keys())
    missing = {
        c.name
        for c in table.columns
        if not c.nullable and c.server_default is None and c.name not in columns
    }
    if unknown or missing:
        raise ValueError(f"{table.name}: unknown {sorted(unknown)}, missing {sorted(missing)}")
    names = ", ".join(columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in _chain(first, iterator):
            copy.write_row([_plain(row[c]) for c in columns])


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _plain(value: Any) -> Any:
    """JSON columns take text in COPY; everything else psycopg adapts itself."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value
