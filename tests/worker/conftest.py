"""Fixtures for the compatibility test: Docker test images, an asset server, the trio's links."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import TEST_DATABASE_URL
from tests.docker.conftest import docker_client, test_images  # noqa: F401 - shared fixtures
from tests.support.http_server import AssetServer
from tests.worker.trio import serve_trio


@pytest.fixture
def assets() -> Iterator[AssetServer]:
    """A loopback HTTP server for configs, parameters and demo archives."""
    with AssetServer() as server:
        yield server


@pytest.fixture
def trio(assets, test_images) -> dict[str, str]:  # noqa: F811 - the fixture above
    """Links to the passing toy benchmark: prep, prep_params, model, evaluator, demo."""
    return serve_trio(assets)


@pytest.fixture
def worker_config(config) -> dict:
    """Settings small enough for tests: short limits, the asset server allowed."""
    config.update(
        CONTAINER_MEMORY_BYTES=256 * 2**20,
        CONTAINER_TIMEOUT_SECONDS=60.0,
        IMAGE_PULL_POLICY="never",
        CONTAINER_PIDS_LIMIT=128,
    )
    return config


@pytest.fixture
def app(worker_config):
    """The app on the worker-sized settings (overrides the suite's app fixture)."""
    app = create_app(worker_config)
    with app.app_context():
        if not TEST_DATABASE_URL:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()
    app.extensions["redis"].close()
