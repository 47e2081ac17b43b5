"""RQ entry points: functions on record ids, queued by dotted path."""

from __future__ import annotations

import socket

from rq import get_current_job

from workers.context import app_context


def answer_queue_check(check_id: int) -> None:
    """Record that a worker took this queue check from Redis."""
    from app.services.queue_checks import answer_queue_check as answer

    job = get_current_job()
    worker_name = (job.worker_name if job else None) or socket.gethostname()
    with app_context():
        answer(check_id, worker_name)
