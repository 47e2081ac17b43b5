"""Claiming a recorded job before it goes to Redis, so that two processes never queue it twice.

A row (a run, a message) is committed first and queued after: by the request's after-commit
action or, when Redis was down, by a worker's housekeeping. Either claims the row by moving its
`dispatched` flag in a short transaction of its own before queueing, and gives the claim back
when Redis refuses the job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.extensions import db


def mark_dispatched(model: Any, row_id: int, waiting: Any, *, claimed: bool) -> bool:
    """Set the flag of a row whose status is still `waiting` to `claimed`, if it is not already.

    Returns True when this call moved it (for a claim: this process may queue the job).
    """
    with db.engine.begin() as conn:
        moved = conn.execute(
            update(model)
            .where(
                model.id == row_id,
                model.status == waiting,
                model.dispatched.is_(not claimed),
            )
            .values(dispatched=claimed)
        )
    return moved.rowcount == 1
