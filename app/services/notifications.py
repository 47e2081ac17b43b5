"""Notifications: short messages for one member, with a link, kept until read."""

from __future__ import annotations

from sqlalchemy import Select, func, select, update

from app.extensions import db
from app.models import Notification, User, utcnow
from app.services.mail import queue_notice


def notify(
    user: User | int, message: str, url: str | None = None, *, mail: str | None = None
) -> Notification:
    """Add a notification to the session without committing: it lands in the caller's commit.

    Args:
        mail: the kind of notice (services.mail.NOTICE_KINDS) when it is mailed too, unless
            the member opted out of that kind.
    """
    user_id = user if isinstance(user, int) else user.id
    notification = Notification(user_id=user_id, message=message, url=url)
    db.session.add(notification)
    if mail is not None:
        member = user if isinstance(user, User) else db.session.get(User, user_id)
        queue_notice(member, mail, message, url)
    return notification


def unread_count(user: User) -> int:
    """Count the member's unread notifications (one COUNT query)."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def notifications_query(user: User) -> Select:
    """Select the member's notifications, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_read(notification: Notification) -> None:
    """Mark one notification read (once: the first reading time stays)."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the member read; return how many changed."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0
