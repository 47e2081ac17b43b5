"""The job time limit follows from the run's own limits, not from a fixed day."""

from __future__ import annotations

from dataclasses import replace

from app.config import GIB, MIB, Config
from app.services.run_limits import bytes_moved, job_timeout_seconds
from app.settings import Settings


def _settings(environ: dict[str, str] | None = None) -> Settings:
    return Settings.from_config(Config.as_dict(environ or {}))


def test_default_job_limit_is_the_tasks_transfers_and_margin():
    config = _settings()
    moved = 2 * (10 * GIB + 3 * (1 * MIB + 1 * MIB + 10 * GIB)) + 4 * 50 * GIB + 2 * 50 * GIB
    assert bytes_moved(config) == moved
    expected = 5 * 3600 + moved / (20 * MIB) + 900
    assert job_timeout_seconds(config) == int(expected) + 1
    assert job_timeout_seconds(config) < 24 * 3600


def test_job_limit_grows_and_shrinks_with_the_settings():
    config = _settings()
    base = job_timeout_seconds(config)
    longer = job_timeout_seconds(replace(config, container_timeout_seconds=7200.0))
    assert longer - base == 5 * 3600
    faster = job_timeout_seconds(replace(config, job_min_bytes_per_second=10**15))
    assert faster == 5 * 3600 + 900 + 1
    small = replace(
        config,
        container_timeout_seconds=60.0,
        job_min_bytes_per_second=10**15,
        job_margin_seconds=30,
    )
    assert job_timeout_seconds(small) == 5 * 60 + 30 + 1


def test_environment_sets_the_speed_and_margin():
    config = _settings({"JOB_MIN_BYTES_PER_SECOND": "1048576", "JOB_MARGIN_SECONDS": "60"})
    assert config.job_min_bytes_per_second == MIB
    assert job_timeout_seconds(config) == int(5 * 3600 + bytes_moved(config) / MIB + 60) + 1
