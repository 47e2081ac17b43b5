"""Views of the administration area."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select

from app.admin import bp
from app.auth.access import admin_required
from app.extensions import db
from app.models import User
from app.services.accounts import reset_password, set_active, set_admin
from app.services.audit import SUBJECT_KINDS, activity_page
from app.services.errors import Refusal
from app.services.health import health_report
from app.services.paging import paginate
from app.services.queue import live_workers, worker_docker_status
from app.services.queue_checks import latest_queue_checks, request_queue_check
from app.settings import settings


@bp.route("/")
@admin_required
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users")
@admin_required
def users():
    page = paginate(select(User).order_by(User.created_at.desc(), User.id.desc()), per_page=50)
    return render_template("admin/users.html", page=page)


@bp.route("/users/<int:user_id>/admin", methods=["POST"])
@admin_required
def toggle_admin(user_id: int):
    user = db.get_or_404(User, user_id)
    make_admin = request.form.get("value") == "1"
    try:
        set_admin(user, make_admin, by=current_user)
    except Refusal as error:
        flash(str(error), "error")
    else:
        verb = "is now an administrator" if make_admin else "is no longer an administrator"
        flash(f"{user.display_name} {verb}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    activate = request.form.get("value") == "1"
    try:
        set_active(user, activate, by=current_user)
    except Refusal as error:
        flash(str(error), "error")
    else:
        flash(
            f"{user.display_name}'s account is {'active' if activate else 'deactivated'}.",
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def new_password(user_id: int):
    user = db.get_or_404(User, user_id)
    if request.method == "GET":  # asks first: the present password stops working at once
        return render_template("admin/new_password.html", user=user, password=None)
    try:
        password = reset_password(user, by=current_user)
    except Refusal as error:
        flash(str(error), "error")
        return redirect(url_for("admin.users"))
    # Shown on this answer only: a flashed message would travel in the session cookie.
    page = render_template("admin/new_password.html", user=user, password=password)
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/activity")
@admin_required
def activity():
    kind = request.args.get("kind") or None
    if kind not in SUBJECT_KINDS:
        kind = None
    page = activity_page(kind, per_page=settings().page_size * 2)
    return render_template("admin/activity.html", page=page, kind=kind, kinds=SUBJECT_KINDS)


@bp.route("/health")
@admin_required
def health():
    report = health_report()
    workers = _worker_rows() if report["redis"] else []
    queues = _queue_lengths() if report["redis"] else {}
    return render_template(
        "admin/health.html",
        report=report,
        workers=workers,
        queues=queues,
        checks=latest_queue_checks(),
    )


def _worker_rows() -> list[dict]:
    """Each live worker with its host, last heartbeat and the run it is working on."""
    rows = []
    for worker in live_workers():
        try:
            job = worker.get_current_job_id()
        except RedisError:
            job = None
        run_id = job.removeprefix("run-") if job and job.startswith("run-") else None
        rows.append(
            {
                "name": worker.name,
                "hostname": worker.hostname,
                "queues": worker.queue_names(),
                "state": worker.get_state(),
                "last_heartbeat": worker.last_heartbeat,
                "job": job,
                "run_id": int(run_id) if run_id and run_id.isdigit() else None,
                "docker": _worker_docker(worker.name),
            }
        )
    return rows


def _worker_docker(name: str) -> bool | None:
    try:
        return worker_docker_status(name)
    except RedisError:
        return None


def _queue_lengths() -> dict[str, int | None]:
    """How many jobs wait in each queue (None where Redis did not answer)."""
    lengths: dict[str, int | None] = {}
    for name, queue in current_app.extensions["rq_queues"].items():
        try:
            lengths[name] = queue.count
        except RedisError:
            lengths[name] = None
    return lengths


@bp.route("/health/queue-check", methods=["POST"])
@admin_required
def queue_check():
    try:
        request_queue_check(current_user)
    except RedisError:  # Redis down: the check row is kept, the page says why
        flash("The queue could not be reached: is Redis running?", "error")
    else:
        flash(
            "A check job was queued. Reload this page in a moment to see a worker answer.", "info"
        )
    return redirect(url_for("admin.health"))
