"""Personal access tokens: made on the account page, shown once, stored hashed, revoked."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update

from app.database import record_id
from app.extensions import db
from app.models import ApiToken, User, utcnow
from app.models.api_token import SCOPES
from app.services.errors import Refusal
from app.services.sessions import hash_token

TOKEN_PREFIX = "bgt_"
SHOWN_PREFIX_CHARS = 12
EXPIRY_CHOICES_DAYS = (7, 30, 90, 365)
MAX_EXPIRY_DAYS = 366
USED_EVERY_SECONDS = 60  # last use is written at most this often per token


def create_token(
    user: User, name: str, scopes: list[str], expires_in_days: int | None
) -> tuple[ApiToken, str]:
    """Record a new token of user and commit; return it and the secret, to be shown once."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the token a name that says where it is used, e.g. CI."]
    elif len(name) > 80:
        errors["name"] = ["Keep the name under 80 characters."]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        errors["scopes"] = [f"Choose among {', '.join(SCOPES)}; not {', '.join(unknown)}."]
    elif "admin" in scopes and not user.is_admin:
        errors["scopes"] = ["Only administrators can make tokens with the admin scope."]
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = [f"A token lasts 1 to {MAX_EXPIRY_DAYS} days, or never ends."]
    if errors:
        raise Refusal(field_errors=errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:SHOWN_PREFIX_CHARS],
        scopes=" ".join(scope for scope in SCOPES if scope == "read" or scope in scopes),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def _live(query):
    now = utcnow()
    return query.where(
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def find_token(secret: str) -> ApiToken | None:
    """The live token this secret opens, of an active account; its last use noted."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        _live(select(ApiToken))
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret), User.active.is_(True))
    )
    if token is not None:
        _note_used(token)
    return token


def _note_used(token: ApiToken) -> None:
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < timedelta(
        seconds=USED_EVERY_SECONDS
    ):
        return
    db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    db.session.commit()


def token_is_live(token_id: int) -> bool:
    """Tell whether a token may still be used (for long answers such as live logs)."""
    found = db.session.execute(
        _live(select(ApiToken.id))
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id, User.active.is_(True))
    ).first()
    return found is not None


def live_tokens(user: User) -> list[ApiToken]:
    """The account's tokens that still work, newest first."""
    return list(
        db.session.scalars(
            _live(select(ApiToken)).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> bool:
    """Revoke one of user's own tokens and commit; False when not theirs or already over."""
    if record_id(token_id) is None:  # no column holds it: nobody's token
        return False
    result = db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoke_reason="revoked by its owner")
    )
    db.session.commit()
    return bool(result.rowcount)


def revoke_tokens_of(user: User, reason: str) -> int:
    """Revoke every token of user (no commit here); return how many."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason[:40])
    )
    return result.rowcount or 0
