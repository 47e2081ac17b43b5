"""Fixtures of the web tests: a loopback asset server for the links members paste."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_server import AssetServer


@pytest.fixture
def assets() -> Iterator[AssetServer]:
    """Serve files over HTTP on 127.0.0.1, a host the test settings allow."""
    with AssetServer("127.0.0.1") as server:
        yield server
