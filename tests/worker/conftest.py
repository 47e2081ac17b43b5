"""The worker tests' app runs with worker-sized limits."""

import pytest

from tests.support.app import WORKER_LIMITS


@pytest.fixture
def config(config: dict) -> dict:
    config.update(WORKER_LIMITS)
    return config
