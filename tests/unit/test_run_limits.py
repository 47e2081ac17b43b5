"""The job time limit follows from the run's own limits, not from a fixed day."""

from __future__ import annotations

from app.config import GIB, MIB, Config
from app.services.run_limits import bytes_moved, job_timeout_seconds


def test_default_job_limit_is_the_tasks_transfers_and_margin():
    config = Config.as_dict({})
    moved = 2 * (10 * GIB + 3 * (1 * MIB + 1 * MIB + 10 * GIB)) + 4 * 50 * GIB + 2 * 50 * GIB
    assert bytes_moved(config) == moved
    expected = 5 * 3600 + moved / (20 * MIB) + 900
    assert job_timeout_seconds(config) == int(expected) + 1
    assert job_timeout_seconds(config) < 24 * 3600


def test_job_limit_grows_and_shrinks_with_the_settings():
    config = Config.as_dict({})
    base = job_timeout_seconds(config)
    longer = job_timeout_seconds({**config, "CONTAINER_TIMEOUT_SECONDS": 7200.0})
    assert longer - base == 5 * 3600
    faster = job_timeout_seconds({**config, "JOB_MIN_BYTES_PER_SECOND": 10**15})
    assert faster == 5 * 3600 + 900 + 1
    small = {
        **config,
        "CONTAINER_TIMEOUT_SECONDS": 60.0,
        "JOB_MIN_BYTES_PER_SECOND": 10**15,
        "JOB_MARGIN_SECONDS": 30,
    }
    assert job_timeout_seconds(small) == 5 * 60 + 30 + 1


def test_environment_sets_the_speed_and_margin():
    config = Config.as_dict({"JOB_MIN_BYTES_PER_SECOND": "1048576", "JOB_MARGIN_SECONDS": "60"})
    assert config["JOB_MIN_BYTES_PER_SECOND"] == MIB
    assert job_timeout_seconds(config) == int(5 * 3600 + bytes_moved(config) / MIB + 60) + 1
