"""The job queue: RQ queues on the app's Redis, JSON-serialised jobs addressed by dotted path."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker
from rq.serializers import JSONSerializer

from app.settings import settings


def redis_client() -> Redis:
    """Return the application's Redis client."""
    return current_app.extensions["redis"]


def get_queue(name: str | None = None) -> Queue:
    """Return the RQ queue of that name (the run queue by default)."""
    return current_app.extensions["rq_queues"][name or settings().run_queue]


def enqueue(
    function_path: str,
    record_id: int,
    *,
    job_id: str,
    queue: str | None = None,
    timeout: int | None = None,
    retry: Retry | None = None,
) -> None:
    """Queue a worker function by dotted path with one record id; call it after the commit."""
    get_queue(queue).enqueue(
        function_path,
        record_id,
        job_id=job_id,
        job_timeout=timeout or 24 * 3600,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
        retry=retry,
    )


def live_workers() -> list[Worker]:
    """Return the workers that have registered with Redis and not yet expired."""
    return Worker.all(connection=redis_client(), serializer=JSONSerializer)


def worker_docker_key(worker_name: str) -> str:
    """Redis key where a worker says whether it reaches its Docker engine."""
    return f"worker:{worker_name}:docker"


def report_worker_docker(worker_name: str, reachable: bool, ttl_seconds: int) -> None:
    """Record a worker's view of its Docker engine, for the health page."""
    redis_client().set(worker_docker_key(worker_name), "1" if reachable else "0", ex=ttl_seconds)


def worker_docker_status(worker_name: str) -> bool | None:
    """True or False as the worker last reported, None when it has not said."""
    value = redis_client().get(worker_docker_key(worker_name))
    return None if value is None else value in (b"1", "1")
