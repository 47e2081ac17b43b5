"""Reading what the database holds: counts, a member's notices, the SQL a block sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Notification


def count(model) -> int:
    """How many rows of this model there are."""
    return db.session.scalar(select(func.count()).select_from(model))


def notifications_of(user) -> list[Notification]:
    """The member's notices, oldest first."""
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the SQL statements sent inside the block."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
