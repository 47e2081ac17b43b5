"""Views of workflow tests and runs: the form, the lists, the run page and its live events."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError

from app.extensions import db
from app.models import Container, Run, RunStatus, StepStatus
from app.runs import bp
from app.runs.display import STEP_HELP, last_lines
from app.runs.forms import WorkflowTestForm
from app.runs.live import live_events
from app.runs.stream import (
    log_lines,
    stream_exists,
)
from app.runs.stream_slots import RETRY_AFTER_SECONDS
from app.runs.values import values_download as download_values
from app.services.errors import Refusal
from app.services.listings import runs_page
from app.services.page_cache import Rendered, kept_html
from app.services.paging import requested_page
from app.services.queue import live_workers
from app.services.runs import (
    can_cancel,
    can_view,
    cancel_run,
    create_run,
    queue_position,
    rerun,
)
from app.services.sessions import session_is_live
from app.settings import settings
from workers.log_lines import PLATFORM, format_line, parse_lines
from workers.roles import SLOTS, Role

STORED_LOG_LINES = 500  # shown on a finished run's page; the download has them all
FAILURE_TAIL_LINES = 40


def _visible_run_or_404(run_id: int) -> Run:
    """The run, if the signed-in member may see it; otherwise 404, as if it did not exist."""
    run = db.get_or_404(Run, run_id)
    if not can_view(run, current_user):
        abort(404)
    return run


@bp.route("/")
@login_required
def index():
    show_all = bool(current_user.is_admin and request.args.get("all") == "1")

    def render() -> Rendered:
        page = runs_page(current_user, everyone=show_all, per_page=settings().page_size)
        # A run under way shows how long it has been running: a mark, filled in when served.
        return Rendered(render_template("runs/_list.html", page=page, show_all=show_all))

    key = ("runs", None if show_all else current_user.id, requested_page())
    listing = kept_html(key, render, viewer_id=current_user.id)
    return render_template("runs/index.html", listing=listing, show_all=show_all)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = WorkflowTestForm(current_user)
    if form.validate_on_submit():
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
            if run.dispatched:
                flash("Your test is queued. Its steps and log appear below as it runs.", "success")
            else:
                flash(
                    "Your test is saved, but the queue cannot be reached right now. "
                    "It starts by itself when the queue is back.",
                    "warning",
                )
            return redirect(url_for("runs.detail", run_id=run.id))
    return render_template("runs/new.html", form=form)


def _slot_views(run: Run) -> list[dict]:
    """What each slot of the run was: a registered container (with its page) or links."""
    views = []
    for slot in SLOTS:
        spec = (run.inputs or {}).get("slots", {}).get(slot) or {}
        container = None
        if spec.get("container_id") is not None:
            container = db.session.get(Container, spec["container_id"])
        views.append(
            {
                "slot": slot,
                "label": Role(slot).label,
                "spec": spec,
                "container": container,
            }
        )
    return views


def _waiting_for(run: Run) -> dict:
    """Where a queued run stands: not yet handed to the queue, its place, live workers."""
    if run.status != RunStatus.QUEUED:
        return {}
    if not run.dispatched:
        return {"undispatched": True}
    try:
        workers = len(live_workers())
    except RedisError:
        return {"undispatched": True}
    return {"position": queue_position(run), "workers": workers}


@bp.route("/<int:run_id>")
@login_required
def detail(run_id: int):
    run = _visible_run_or_404(run_id)
    failed_step = next((s for s in run.steps if s.status == StepStatus.FAILED), None)
    tail_text = (failed_step.log_tail if failed_step else None) or run.failure_log_tail
    failure_tail, _ = last_lines(tail_text, FAILURE_TAIL_LINES)
    stored_log, stored_count = last_lines(run.log_text, STORED_LOG_LINES)
    return render_template(
        "runs/detail.html",
        run=run,
        slots=_slot_views(run),
        waiting=_waiting_for(run),
        failed_step=failed_step,
        failure_tail=parse_lines(failure_tail),
        stored_log=parse_lines(stored_log),
        stored_count=stored_count,
        may_cancel=can_cancel(run, current_user),
        step_help=STEP_HELP,
    )


@bp.route("/<int:run_id>/events")
@login_required
def events(run_id: int):
    run = _visible_run_or_404(run_id)
    session_id = current_user.session_id
    response = live_events(run, current_user.id, lambda: session_is_live(session_id))
    if response is None:  # the page falls back to reloading
        return Response(
            "Too many live logs are open; this page reloads instead.\n",
            status=429,
            mimetype="text/plain",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return response


@bp.route("/<int:run_id>/<any(results, statistics):which>.json")
@login_required
def values_download(run_id: int, which: str):
    run = _visible_run_or_404(run_id)
    values = run.results if which == "results" else run.statistics
    if values is None:
        abort(404)
    return download_values(values, f"benchgate-run-{run.id}-{which}.json")


@bp.route("/<int:run_id>/log.txt")
@login_required
def log_download(run_id: int):
    run = _visible_run_or_404(run_id)
    headers = {"Content-Disposition": f'attachment; filename="benchgate-run-{run.id}-log.txt"'}
    if run.is_finished and run.log_text is not None:
        return Response(run.log_text, mimetype="text/plain", headers=headers)
    redis = current_app.extensions["redis"]
    finished = run.is_finished
    db.session.remove()
    try:
        live = stream_exists(redis, run_id)
    except RedisError:
        return Response(
            "The log cannot be read right now because the queue (Redis) is unreachable. "
            "Try again in a minute.\n",
            status=503,
            mimetype="text/plain",
        )
    if not live:
        text = "No log was kept for this run.\n" if finished else "Nothing logged yet.\n"
        return Response(text, mimetype="text/plain", headers=headers)

    def body():
        try:
            yield from log_lines(redis, run_id)
        except RedisError:
            note = "The rest of the log could not be read: Redis is unreachable."
            yield format_line("run", PLATFORM, note) + "\n"

    return Response(body(), mimetype="text/plain", headers=headers)


@bp.route("/<int:run_id>/cancel", methods=["POST"])
@login_required
def cancel(run_id: int):
    run = _visible_run_or_404(run_id)
    if not run.is_finished and not can_cancel(run, current_user):
        abort(403)
    try:
        cancel_run(run, current_user)
    except Refusal as error:
        flash(str(error), "error")
    else:
        if run.status == RunStatus.CANCELED:
            flash("The test was canceled before it started.", "success")
        else:
            flash("Canceling: the worker is stopping the containers.", "info")
    return redirect(url_for("runs.detail", run_id=run_id))


@bp.route("/<int:run_id>/rerun", methods=["POST"])
@login_required
def rerun_view(run_id: int):
    run = _visible_run_or_404(run_id)
    try:
        new_run = rerun(run, current_user)
    except Refusal as error:
        flash(f"This test cannot be run again as it was: {error}", "error")
        return redirect(url_for("runs.detail", run_id=run_id))
    flash(f"Run #{new_run.id} repeats run #{run_id} with the same inputs.", "success")
    return redirect(url_for("runs.detail", run_id=new_run.id))
