"""Views of notifications: the list, opening one, marking all read; the navigation's count."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Notification
from app.notifications import bp
from app.services.notifications import (
    mark_all_read,
    mark_read,
    notifications_query,
    unread_count,
)
from app.services.paging import paginate
from app.settings import settings


@bp.app_context_processor
def unread_notifications() -> dict:
    """Give every page the signed-in member's unread count, loaded with the account."""
    if not current_user.is_authenticated:
        return {}
    unread = current_user.unread_notifications
    if unread is None:  # the account was refreshed after a change in this request
        unread = unread_count(current_user)
    return {"unread_notifications": unread}


@bp.route("/")
@login_required
def index():
    page = paginate(notifications_query(current_user), per_page=settings().page_size)
    return render_template("notifications/index.html", page=page)


@bp.route("/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    notification = db.get_or_404(Notification, notification_id)
    if notification.user_id != current_user.id:
        abort(404)
    mark_read(notification)
    return redirect(_local(notification.url) or url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    count = mark_all_read(current_user)  # the CSRF token is checked for every POST
    flash("Every notification is marked read." if count else "There was nothing unread.", "success")
    return redirect(url_for("notifications.index"))


def _local(url: str | None) -> str | None:
    """Follow only links inside Benchgate: a stored link must never lead elsewhere."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None
