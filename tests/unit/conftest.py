"""Fixtures of the unit tests: a loopback asset server, and a guard on outgoing connections."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.http_server import AssetServer


@pytest.fixture
def server() -> Iterator[AssetServer]:
    with AssetServer("127.0.0.1") as srv:
        yield srv


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
