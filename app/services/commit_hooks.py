"""Work that waits for the current transaction's commit: queued jobs, published events.

A service adds and flushes its rows, then asks for what must follow them with
`after_commit(action, *args)`. The use case commits once; only then do the actions run, in the
order they were asked for, so that a worker never meets a row that is not saved yet. A
rollback (of the whole transaction, or of the savepoint an action was asked for in) drops them.

An action runs after the commit, when the session can no longer be used: it gets ids and
plain values, never a record to read, and writes (marking a job as sent, say) in a short
transaction of its own. The commit stands whatever an action does, so an action that fails
is logged, not raised; each one handles what it expects (Redis being down) and leaves the rest
to the periodic housekeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.database import PortalSession
from app.extensions import db

log = logging.getLogger(__name__)

PENDING = "after_commit"  # session.info key: (transaction, action, args) waiting for the commit

Pending = list[tuple[SessionTransaction | None, Callable[..., Any], tuple[Any, ...]]]


def after_commit(action: Callable[..., Any], *args: Any) -> None:
    """Run action(*args) once the current transaction commits; never if it rolls back."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any statement drops it too
    session.info.setdefault(PENDING, []).append((session.get_nested_transaction(), action, args))


def pending_actions() -> int:
    """Count the actions waiting for the current transaction's commit."""
    return len(db.session.info.get(PENDING, ()))


@event.listens_for(PortalSession, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its actions wait for the transaction itself
    pending: Pending = session.info.pop(PENDING, [])
    for _transaction, action, args in pending:
        try:
            action(*args)
        except Exception:
            log.exception("after the commit, %s%r failed", action.__qualname__, args)


@event.listens_for(PortalSession, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous: SessionTransaction) -> None:
    pending: Pending | None = session.info.get(PENDING)
    if not pending:
        return
    if previous.nested:
        # A savepoint rolled back: only what was asked for inside it goes.
        pending[:] = [item for item in pending if item[0] is not previous]
    elif previous.parent is None:
        session.info.pop(PENDING, None)


@event.listens_for(PortalSession, "after_transaction_end")
def _drop_when_closed(session: Session, transaction: SessionTransaction) -> None:
    # A session closed (or removed at the end of a request) without a commit drops them too.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
