"""The audit trail: who did what to which record, when, and why."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, select

from app.extensions import db
from app.models import AuditEvent, User


def subject_type(subject: db.Model) -> str:
    """Return the name the audit trail gives a record's kind, such as "container"."""
    return type(subject).__name__.lower()


def record_event(
    actor: User | None, action: str, subject: db.Model, reason: str | None = None
) -> AuditEvent:
    """Add an audit event to the session without committing: it lands in the caller's commit."""
    if subject.id is None:
        db.session.flush()  # a record created in the same transaction needs its id first
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type(subject),
        subject_id=subject.id,
        reason=reason or None,
    )
    db.session.add(event)
    return event


def events_for(subject: db.Model) -> list[AuditEvent]:
    """Return the audit events of one record, oldest first."""
    params = {"subject_type": subject_type(subject), "subject_id": subject.id}
    return list(db.session.scalars(_events_query(), params))


@cache
def _events_query() -> Select:
    # Built once: every benchmark and container page asks for its history.
    return (
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == bindparam("subject_type"),
            AuditEvent.subject_id == bindparam("subject_id"),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
