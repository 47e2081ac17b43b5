"""The caller's own account and notifications through the API."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.common import MAX_ID, cursor_page, moment
from app.api.errors import ApiError
from app.extensions import db
from app.models import Notification
from app.services.notifications import mark_all_read, mark_read, unread_count


@bp.get("/me")
def me():
    """Who the token (or session) signs in as, and what the token may do."""
    token = g.api_token
    return jsonify(
        {
            "id": current_user.id,
            "email": current_user.email,
            "name": current_user.display_name,
            "is_admin": current_user.is_admin,
            "token": None
            if token is None
            else {
                "name": token.name,
                "scopes": token.scope_list,
                "expires_at": moment(token.expires_at),
            },
        }
    )


def present_notification(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "message": notification.message,
        "url": notification.url,
        "created_at": moment(notification.created_at),
        "read_at": moment(notification.read_at),
    }


@bp.get("/notifications")
def list_notifications():
    """The caller's notifications, newest first; unread=1 for the unread ones only."""
    query = select(Notification).where(Notification.user_id == current_user.id)
    if request.args.get("unread") == "1":
        query = query.where(Notification.read_at.is_(None))
    page = cursor_page(query, Notification.id, present_notification)
    page["unread"] = unread_count(current_user)
    return jsonify(page)


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    notification = (
        db.session.get(Notification, notification_id) if notification_id <= MAX_ID else None
    )
    if notification is None or notification.user_id != current_user.id:
        raise ApiError(404, "not_found", f"There is no notification #{notification_id}.")
    mark_read(notification)
    return jsonify(present_notification(notification))


@bp.post("/notifications/read-all")
def read_all_notifications():
    return jsonify({"marked_read": mark_all_read(current_user)})
