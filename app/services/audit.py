"""The audit trail: who did what to which record, when, and why."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Row, Select, Subquery, bindparam, case, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import AuditEvent, Benchmark, Container, JoinRequest, User
from app.services.paging import Page, PagedQuery

# The kinds of record the trail speaks of, as the activity page's filter offers them.
SUBJECT_KINDS = {
    "benchmark": "Benchmarks",
    "container": "Containers",
    "joinrequest": "Join requests",
    "user": "Accounts",
}


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


def activity_page(kind: str | None, *, per_page: int) -> Page:
    """Return a page of the whole trail, newest first, of one kind of record or of all.

    Each row has the event's id, action, subject_type, subject_id, reason, created_at,
    actor_name (None for Benchgate itself) and subject_name: a benchmark's or container's
    name, the model of a join request, an account's email. The trail is not counted: it grows
    with everything members do.
    """
    return _activity_query(kind is not None).page({"kind": kind}, per_page=per_page)


@cache
def _activity_query(filtered: bool) -> PagedQuery:
    ids = select(AuditEvent.id)
    if filtered:
        ids = ids.where(AuditEvent.subject_type == bindparam("kind"))
    subject = AuditEvent.subject_id
    request_model = aliased(Container)
    names = {
        "benchmark": select(Benchmark.name).where(Benchmark.id == subject),
        "container": select(Container.name).where(Container.id == subject),
        "joinrequest": select(request_model.name)
        .join(JoinRequest, JoinRequest.model_id == request_model.id)
        .where(JoinRequest.id == subject),
        "user": select(User.email).where(User.id == subject),
    }
    actor = aliased(User)

    def rows(page_ids: Subquery) -> Select:
        # Correlated lookups for the page's rows only: one statement whatever the kinds.
        subject_name = case(
            *(
                (AuditEvent.subject_type == kind, query.scalar_subquery())
                for kind, query in names.items()
            )
        )
        return (
            select(
                AuditEvent.id,
                AuditEvent.action,
                AuditEvent.subject_type,
                AuditEvent.subject_id,
                AuditEvent.reason,
                AuditEvent.created_at,
                actor.display_name.label("actor_name"),
                subject_name.label("subject_name"),
            )
            .join(page_ids, page_ids.c.id == AuditEvent.id)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
        )

    return PagedQuery.build(ids, [AuditEvent.id.desc()], rows, counted=False)
