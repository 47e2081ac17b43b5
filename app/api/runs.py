"""Workflow tests through the API: start, read, list, cancel, re-run, follow the log."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.api import bp
from app.api.common import (
    MAX_ID,
    choice_arg,
    created,
    cursor_page,
    int_arg,
    json_body,
    moment,
    page_limit,
)
from app.api.errors import ApiError, invalid
from app.api.forms import field_errors, id_problem
from app.extensions import db
from app.models import Run, RunKind, RunStatus
from app.runs.forms import WorkflowTestForm
from app.runs.live import live_events
from app.runs.stream import stream_exists
from app.runs.stream_slots import RETRY_AFTER_SECONDS
from app.services.api_tokens import token_is_live
from app.services.errors import Refusal
from app.services.run_events import is_valid_event_id, read_events
from app.services.runs import (
    can_cancel,
    can_view,
    cancel_run,
    create_run,
    queue_position,
    rerun,
)
from app.services.sessions import session_is_live
from workers.log_lines import CONTAINER, parse_line
from workers.roles import SLOTS

SLOT_FIELDS = (
    "container",
    "config_url",
    "config_sha256",
    "parameters_url",
    "parameters_sha256",
    "additional_files_url",
    "additional_files_sha256",
)


def visible_run(run_id: int) -> Run:
    """The run, if the caller may see it; otherwise 404, as if it did not exist."""
    run = db.session.get(Run, run_id) if run_id <= MAX_ID else None
    if run is None or not can_view(run, current_user):
        raise ApiError(404, "not_found", f"There is no run #{run_id} that you can see.")
    return run


def present_run(run: Run) -> dict[str, Any]:
    """A run as the API shows it."""
    return {
        "id": run.id,
        "kind": run.kind.value,
        "status": run.status.value,
        "requester": {"id": run.requester_id, "name": run.requester.display_name},
        "benchmark_id": run.benchmark_id,
        "rerun_of_id": run.rerun_of_id,
        "inputs": run.inputs,
        "demo_url": run.demo_url,
        "demo_sha256": run.demo_sha256,
        "created_at": moment(run.created_at),
        "started_at": moment(run.started_at),
        "finished_at": moment(run.finished_at),
        "queue_position": queue_position(run) if run.dispatched else None,
        "dispatched": run.dispatched,
        "cancel_requested": run.cancel_requested,
        "steps": [
            {
                "name": step.name,
                "status": step.status.value,
                "started_at": moment(step.started_at),
                "finished_at": moment(step.finished_at),
                "exit_code": step.exit_code,
                "message": step.message,
            }
            for step in run.steps
        ],
        "results": run.results,
        "statistics": run.statistics,
        "prepared_data_uid": run.prepared_data_uid,
        "hashes": run.hashes,
        "digests": run.digests,
        "failure_cause": run.failure_cause,
        "failure_summary": run.failure_summary,
        "links": {
            "self": url_for("api.get_run", run_id=run.id),
            "page": url_for("runs.detail", run_id=run.id),
            "events": url_for("api.run_events_stream", run_id=run.id),
            "log": url_for("api.run_log", run_id=run.id),
            "log_text": url_for("api.run_log_text", run_id=run.id),
        },
    }


def _form_data(body: dict[str, Any]) -> MultiDict:
    """The workflow-test form's fields, filled from the JSON body's slots."""
    data = MultiDict()
    for slot in SLOTS:
        spec = body.get(slot)
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise invalid({slot: ['Give an object: {"container": id} or its links.']})
        unknown = sorted(set(spec) - set(SLOT_FIELDS))
        if unknown:
            raise invalid({f"{slot}.{key}": ["This field is not known."] for key in unknown})
        uses_links = spec.get("container") in (None, "") and bool(spec)
        data[f"{slot}-source"] = "links" if uses_links else "registered"
        for key in SLOT_FIELDS:
            value = spec.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise invalid({f"{slot}.{key}": ["Give a string."]})
            if key == "container" and id_problem(value):
                raise invalid({f"{slot}.{key}": [id_problem(value)]})
            data[f"{slot}-{key}"] = str(value)
    for key in ("demo_url", "demo_sha256"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid({key: ["Give a string."]})
        if value:
            data[key] = value
    return data


@bp.post("/runs")
def start_run():
    """Start a workflow test, checked exactly as the form checks it."""
    body = json_body()
    unknown = sorted(set(body) - {*SLOTS, "demo_url", "demo_sha256"})
    if unknown:
        raise invalid({key: ["This field is not known."] for key in unknown})
    form = WorkflowTestForm(current_user, formdata=_form_data(body), meta={"csrf": False})
    if form.validate():
        try:
            run = create_run(
                current_user,
                slots=form.slots(),
                demo_url=form.demo_url.data,
                demo_sha256=form.demo_sha256.data or None,
            )
        except Refusal as error:
            form.add_errors(error.errors)
        else:
            return created(present_run(run), url_for("api.get_run", run_id=run.id))
    raise invalid(field_errors(form.errors))


@bp.get("/runs")
def list_runs():
    """The caller's runs, newest first (an administrator's `all=1`: everyone's)."""
    query = select(Run)
    if not (current_user.is_admin and request.args.get("all") == "1"):
        query = query.where(Run.requester_id == current_user.id)
    status = choice_arg("status", [s.value for s in RunStatus])
    kind = choice_arg("kind", [k.value for k in RunKind])
    benchmark_id = int_arg("benchmark_id")
    if status:
        query = query.where(Run.status == RunStatus(status))
    if kind:
        query = query.where(Run.kind == RunKind(kind))
    if benchmark_id is not None:
        query = query.where(Run.benchmark_id == benchmark_id)
    return jsonify(cursor_page(query, Run.id, present_run))


@bp.get("/runs/<int:run_id>")
def get_run(run_id: int):
    return jsonify(present_run(visible_run(run_id)))


@bp.post("/runs/<int:run_id>/cancel")
def cancel_run_view(run_id: int):
    run = visible_run(run_id)
    if run.is_finished:
        raise ApiError(409, "conflict", f"Run #{run_id} has already ended ({run.status.value}).")
    if not can_cancel(run, current_user):
        raise ApiError(403, "forbidden", "Only the member who started it or an administrator may.")
    cancel_run(run, current_user)
    return jsonify(present_run(run))


@bp.post("/runs/<int:run_id>/rerun")
def rerun_view(run_id: int):
    new_run = rerun(visible_run(run_id), current_user)
    return created(present_run(new_run), url_for("api.get_run", run_id=new_run.id))


@bp.get("/runs/<int:run_id>/log")
def run_log(run_id: int):
    """The log as JSON lines, a page at a time: pass back `next_cursor` as `cursor`.

    While the run's event stream is in Redis, the cursor is a stream id; once it expired, a
    finished run's log is read from the database and the cursor is a line number (`L12`).
    """
    run = visible_run(run_id)
    finished = run.is_finished
    cursor = request.args.get("cursor") or "0-0"
    by_line = cursor.startswith("L") and cursor[1:].isdigit() and len(cursor) < 12
    if not (by_line or is_valid_event_id(cursor)):
        raise invalid({"cursor": ["Pass back the next_cursor of an earlier page."]})
    limit = page_limit()
    redis = current_app.extensions["redis"]
    try:
        if not by_line and stream_exists(redis, run_id):
            return jsonify(_stream_page(redis, run_id, cursor, limit, finished))
    except RedisError as error:
        if not finished:
            raise ApiError(503, "unavailable", "The queue (Redis) cannot be reached.") from error
    if not finished:  # nothing logged yet: come back with the same cursor
        return jsonify({"lines": [], "next_cursor": cursor, "finished": False})
    stored = db.session.scalar(select(Run.log_text).where(Run.id == run_id))
    return jsonify(_stored_page(stored or "", cursor if by_line else "L0", limit, finished))


def _stream_page(redis, run_id: int, after: str, limit: int, finished: bool) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    ended = False
    while len(lines) < limit:
        events = read_events(redis, run_id, after, count=min(limit, 500))
        if not events:
            break
        for event_id, kind, data in events:
            if kind == "log":
                batch = data.get("lines", [])
                if lines and len(lines) + len(batch) > limit:
                    break
                lines.extend(
                    {
                        "step": item.get("step"),
                        "src": item.get("src", CONTAINER),
                        "line": item.get("line", ""),
                        "t": item.get("t"),
                    }
                    for item in batch
                )
            ended = ended or kind == "end"
            after = event_id
        else:
            continue
        break
    return {"lines": lines, "next_cursor": after, "finished": finished or ended}


def _stored_page(text: str, cursor: str, limit: int, finished: bool) -> dict[str, Any]:
    start = int(cursor[1:]) if cursor.startswith("L") and cursor[1:].isdigit() else 0
    all_lines = text.splitlines()
    lines = []
    for raw in all_lines[start : start + limit]:
        parsed = parse_line(raw)
        lines.append({"step": parsed.step, "src": parsed.source, "line": parsed.text, "t": None})
    return {"lines": lines, "next_cursor": f"L{start + len(lines)}", "finished": finished}


@bp.get("/runs/<int:run_id>/events")
def run_events_stream(run_id: int):
    """The run's events as Server-Sent Events, resumable with Last-Event-ID."""
    run = visible_run(run_id)
    token_id = g.api_token.id if g.api_token is not None else None
    session_id = current_user.session_id

    def allowed() -> bool:
        return token_is_live(token_id) if token_id else session_is_live(session_id)

    response = live_events(run, current_user.id, allowed)
    if response is None:
        raise ApiError(
            429,
            "rate_limited",
            "Too many live logs are open for this account or this server; try again soon.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return response


@bp.get("/runs/<int:run_id>/log.txt")
def run_log_text(run_id: int):
    """The whole log as plain text, as the run page's download gives it."""
    from app.runs.routes import log_download

    visible_run(run_id)
    return log_download(run_id)
