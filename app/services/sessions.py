"""Signed-in sessions that can be ended: started at sign-in, checked on every request.

The browser's cookie (and a "remember me" cookie) carries a random token instead of the
account's id; the token opens the account only while its session row is live. When a
session was last seen is kept in Redis, written at most once a minute per session, so that
reading a page never writes to the database.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

from flask import current_app, request
from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, update

from app.database import record_id
from app.extensions import db
from app.models import AccountSession, User, utcnow
from app.services.throttle import REDIS_EXTENSION
from app.settings import settings

log = logging.getLogger(__name__)

SEEN_EVERY_SECONDS = 60
SEEN_TTL_SECONDS = 40 * 24 * 3600


def hash_token(token: str) -> str:
    """The form of a session token that is stored."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def lifetime() -> timedelta:
    """How long a "remember me" session lasts at most (the cookie's lifetime too)."""
    return timedelta(days=settings().session_lifetime_days)


def browser_lifetime() -> timedelta:
    """How long a session without "remember me" lasts at most."""
    return timedelta(hours=settings().session_hours)


def still_young():
    """The condition a live session's age meets: a browser session lasts SESSION_HOURS, one
    signed in with "remember me" SESSION_LIFETIME_DAYS (OWASP ASVS 3.3.2)."""
    now = utcnow()
    browser_session = browser_lifetime()
    return or_(
        and_(AccountSession.remember.is_(True), AccountSession.created_at > now - lifetime()),
        and_(AccountSession.remember.is_(False), AccountSession.created_at > now - browser_session),
    )


def start_session(user: User, *, remember: bool = False) -> str:
    """Record a new session of user (no commit here); return its token for the cookie."""
    token = secrets.token_urlsafe(32)
    device = (request.user_agent.string or "") if request else ""
    db.session.add(
        AccountSession(
            user_id=user.id,
            token_hash=hash_token(token),
            remember=remember,
            device=_printable(device)[:200],
            address=(request.remote_addr or "")[:64] if request else "",
        )
    )
    user.session_token = token
    return token


def end_session(token: str | None, reason: str = "signed out") -> None:
    """End the session this token opens, if it is live (no commit here)."""
    if token:
        db.session.execute(
            update(AccountSession)
            .where(
                AccountSession.token_hash == hash_token(token),
                AccountSession.ended_at.is_(None),
            )
            .values(ended_at=utcnow(), end_reason=reason)
        )


def open_session(user: User, *, remember: bool = False) -> None:
    """Start and commit a session for a member who just proved who they are."""
    start_session(user, remember=remember)
    db.session.commit()


def close_session(token: str | None) -> None:
    """End and commit the session of this token (sign-out)."""
    end_session(token)
    db.session.commit()


def end_sessions_of(user: User, reason: str, *, except_id: int | None = None) -> int:
    """End every live session of user, but except_id's (no commit here); return how many."""
    query = update(AccountSession).where(
        AccountSession.user_id == user.id, AccountSession.ended_at.is_(None)
    )
    if except_id is not None:
        query = query.where(AccountSession.id != except_id)
    result = db.session.execute(query.values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount or 0


def end_one(user: User, session_id: int) -> bool:
    """End one of user's own sessions and commit; False when it is not theirs or already over."""
    if record_id(session_id) is None:  # no column holds it: nobody's session
        return False
    result = db.session.execute(
        update(AccountSession)
        .where(
            AccountSession.id == session_id,
            AccountSession.user_id == user.id,
            AccountSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow(), end_reason="ended from another session")
    )
    db.session.commit()
    return bool(result.rowcount)


def live_sessions(user: User) -> list[dict]:
    """The account's live sessions, newest first, each with when it was last seen."""
    rows = db.session.scalars(
        select(AccountSession)
        .where(
            AccountSession.user_id == user.id,
            AccountSession.ended_at.is_(None),
            still_young(),
        )
        .order_by(AccountSession.id.desc())
    ).all()
    seen = _last_seen([row.id for row in rows])
    return [
        {
            "id": row.id,
            "device": describe_device(row.device),
            "address": row.address,
            "created_at": row.created_at,
            "last_seen": _moment(seen.get(row.id)) or row.created_at,
            "remember": row.remember,
            "current": row.id == getattr(user, "session_id", None),
        }
        for row in rows
    ]


def session_is_live(session_id: int) -> bool:
    """Tell whether a session may still be used (for long answers such as live logs)."""
    found = db.session.execute(
        select(AccountSession.id)
        .join(User, User.id == AccountSession.user_id)
        .where(
            AccountSession.id == session_id,
            AccountSession.ended_at.is_(None),
            still_young(),
            User.active.is_(True),
        )
    ).first()
    return found is not None


def note_seen(session_id: int) -> None:
    """Remember when a session was last used, at most once a minute; Redis down costs nothing."""
    now = int(time.time())
    if not _due(session_id, now):
        return
    try:
        _fast_redis().set(f"session:{session_id}:seen", now, ex=SEEN_TTL_SECONDS)
    except RedisError:
        log.debug("could not note session %s as seen", session_id)


_noted: dict[int, int] = {}


def _due(session_id: int, now: int) -> bool:
    """Tell whether this process has not noted the session for a minute (a small local cache)."""
    if now - _noted.get(session_id, 0) < SEEN_EVERY_SECONDS:
        return False
    if len(_noted) > 10_000:
        _noted.clear()
    _noted[session_id] = now
    return True


def _moment(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _fast_redis():
    """The throttle's Redis client, which gives up in half a second when Redis is down."""
    return current_app.extensions[REDIS_EXTENSION]


def _last_seen(session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    try:
        values = _fast_redis().mget([f"session:{i}:seen" for i in session_ids])
    except RedisError:
        return {}
    return {i: int(v) for i, v in zip(session_ids, values, strict=True) if v is not None}


def describe_device(agent: str) -> str:
    """Say which browser on which system a user-agent string names, in a few words."""
    browser = next(
        (name for key, name in _BROWSERS if key in agent), "A browser" if agent else "Unknown"
    )
    system = next((name for key, name in _SYSTEMS if key in agent), "")
    return f"{browser} on {system}" if system else browser


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("HeadlessChrome/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests", "A script"),
    ("Werkzeug", "A script"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())
