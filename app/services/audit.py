"""The audit trail: who did what to which record, when, and why."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Row, Select, bindparam, select

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


def events_for(subject: db.Model) -> list[Row]:
    """Return the audit events of one record, oldest first, as rows for a page.

    Each row has the event's action, reason and created_at, and actor_name: the actor's display
    name, or None for Benchgate itself.
    """
    return events_of(subject_type(subject), subject.id)


def events_of(kind: str, subject_id: int) -> list[Row]:
    """Return the audit events of the record of this kind ("benchmark") and id, oldest first."""
    params = {"subject_type": kind, "subject_id": subject_id}
    return list(db.session.execute(_events_query(), params))


@cache
def _events_query() -> Select:
    # Built once, read as rows: every benchmark and container page shows its history.
    return (
        select(
            AuditEvent.action,
            AuditEvent.reason,
            AuditEvent.created_at,
            User.display_name.label("actor_name"),
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.subject_type == bindparam("subject_type"),
            AuditEvent.subject_id == bindparam("subject_id"),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
