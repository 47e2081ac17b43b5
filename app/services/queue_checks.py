"""Queue checks: send a job through Redis to a worker and see it come back in the database."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import QueueCheck, User, utcnow
from app.services.queue import enqueue


def request_queue_check(by: User) -> QueueCheck:
    """Record a queue check and queue the job that answers it."""
    check = QueueCheck(requested_by_id=by.id)
    db.session.add(check)
    db.session.commit()
    enqueue(
        "app.jobs.tasks.answer_queue_check", check.id, job_id=f"queue-check-{check.id}", timeout=60
    )
    return check


def latest_queue_checks(limit: int = 5) -> list[QueueCheck]:
    """Return the most recent queue checks, newest first."""
    return list(db.session.scalars(select(QueueCheck).order_by(QueueCheck.id.desc()).limit(limit)))


def answer_queue_check(check_id: int, worker_name: str) -> None:
    """Mark a queue check as answered by this worker."""
    check = db.session.get(QueueCheck, check_id)
    if check is None:
        return  # deleted meanwhile: nothing to answer
    check.answered_at = utcnow()
    check.worker_name = worker_name[:200]
    db.session.commit()
