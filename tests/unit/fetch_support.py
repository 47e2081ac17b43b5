"""Helpers and fixtures shared by the download tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from workers.fetch import (
    FetchPolicy,
)

MIB = 2**20
LOOPBACK = FetchPolicy(allowed_hosts=("127.0.0.1",), connect_timeout=2.0, read_timeout=2.0)
STRICT = FetchPolicy(connect_timeout=2.0, read_timeout=2.0)
NOT_ALLOWED = "this address is not allowed"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def fake_resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return table[host]

    return resolve
