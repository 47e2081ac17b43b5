"""Downloads in tests: fetch policies, hashes, a fake resolver, a guard on connections."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from workers.fetch import FetchPolicy

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


@pytest.fixture
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and block) every outgoing socket connection made during the test."""
    attempts: list[object] = []

    def refuse(sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
