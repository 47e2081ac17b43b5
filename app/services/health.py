"""Reachability of what Benchgate needs: database, Redis, Docker, workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.extensions import db
from app.services.queue import live_workers, redis_client


def database_ok() -> bool:
    """Tell whether the database answers a trivial query."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()
        return False


def redis_ok() -> bool:
    """Tell whether Redis answers a ping."""
    try:
        return bool(redis_client().ping())
    except Exception:
        return False


def docker_ok() -> bool:
    """Tell whether this process reaches a Docker engine."""
    from workers.docker_runner import DockerRunner  # imported late: the web app may lack Docker

    try:
        with DockerRunner() as runner:
            return runner.ping()
    except Exception:
        return False


def health_report() -> dict[str, Any]:
    """Collect the health figures shown on /healthz."""
    redis_up = redis_ok()
    workers = len(live_workers()) if redis_up else 0
    return {
        "database": database_ok(),
        "redis": redis_up,
        "docker": docker_ok(),
        "workers": workers,
    }
