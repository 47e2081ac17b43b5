"""One live-log answer for the run page and the API: capped, checked, holding no database."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request
from sqlalchemy import select

from app.extensions import db
from app.models import Run, RunStatus
from app.runs.stream import run_events, start_after, stream_client
from app.runs.stream_slots import stream_slots
from app.settings import settings


def live_events(run: Run, user_id: int, allowed: Callable[[], bool]) -> Response | None:
    """Stream a run's events as SSE; None when the live-log caps leave no slot for user_id.

    Args:
        allowed: whether the reader may still read (a live session or token), asked every
            few seconds inside an app context of its own.
    """
    app = current_app._get_current_object()
    run_id = run.id
    finished = (run.status.value, run.failure_summary or "") if run.is_finished else None
    after = start_after(request.headers.get("Last-Event-ID"), request.args.get("last_id"))
    # Each open stream holds a web thread: past the caps, the caller answers 429.
    slot = stream_slots(app).take(user_id)
    if slot is None:
        return None
    # A stream may stay open for an hour: it must not hold a database connection meanwhile.
    db.session.remove()

    def in_context(read: Callable):
        with app.app_context():
            try:
                return read()
            finally:
                db.session.remove()

    def lookup_status() -> tuple[str, str] | None:
        row = in_context(
            lambda: db.session.execute(
                select(Run.status, Run.failure_summary).where(Run.id == run_id)
            ).one_or_none()
        )
        if row is None or not RunStatus(row[0]).finished:
            return None
        return RunStatus(row[0]).value, row[1] or ""

    def body():
        try:
            yield from run_events(
                stream_client(app),
                run_id,
                after=after,
                finished=finished,
                lookup_status=lookup_status,
                block_ms=settings(app).sse_block_ms,
                still_allowed=lambda: in_context(allowed),
            )
        finally:
            slot.release()

    response = Response(body(), mimetype="text/event-stream")
    # Also when the client leaves before the first event: closing an unstarted generator
    # runs none of its code.
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back
    return response
