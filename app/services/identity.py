"""Proving an email address and resetting a forgotten password, with signed one-time links.

A link holds a signed, dated token. A verification link works until the address is
verified; a reset link carries a fingerprint of the password it replaces, so it works once,
and any password change (through it or otherwise) makes every earlier link useless.
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.extensions import db
from app.models import User, utcnow
from app.services.accounts import add_user
from app.services.audit import record_event
from app.services.errors import Refusal
from app.services.mail import public_url, queue_mail, queue_password_notice
from app.services.sessions import end_sessions_of, start_session
from app.services.users import find_user_by_email
from app.settings import settings

log = logging.getLogger(__name__)

VERIFY_SALT = "benchgate-verify-email"
RESET_SALT = "benchgate-reset-password"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_mark(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def sign_up(email: str, display_name: str, password: str) -> User:
    """Create an account, open its first session, mail its confirmation link; commit once.

    Raises:
        Refusal: the email is in use or the name is refused (nothing was added).
    """
    user = add_user(email, display_name, password)
    start_session(user)
    _queue_verification(user)
    db.session.commit()
    return user


def send_verification(user: User) -> None:
    """Mail the account a link that proves its address, and commit."""
    _queue_verification(user)
    db.session.commit()


def _queue_verification(user: User) -> None:
    token = _serializer(VERIFY_SALT).dumps({"u": user.id, "e": user.email})
    link = public_url(url_for("auth.verify_email", token=token))
    hours = settings().verify_link_hours
    queue_mail(
        user.email,
        "Confirm your email address",
        f"Hello {user.display_name},\n\nOpen this link to confirm that this address is yours "
        f"and to start submitting on Benchgate:\n\n{link}\n\nThe link works for "
        f"{hours:g} hours. If you did not sign up, ignore this message.",
        "verify_email",
    )


def verify_email(token: str) -> User:
    """Mark the address of a verification link verified, and commit; return the account.

    Raises:
        Refusal: the link is damaged, too old, or its account or address changed.
    """
    max_age = settings().verify_link_hours * 3600
    data = _load(token, VERIFY_SALT, max_age, "confirmation")
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("e"):
        raise Refusal("This confirmation link is not for any account. Ask for a new one.")
    if user.is_verified:
        raise Refusal(f"This link was used already: {user.email} is confirmed.")
    user.email_verified_at = utcnow()
    record_event(user, "verify_email", user)
    db.session.commit()
    return user


def send_password_reset(email: str) -> None:
    """Mail a reset link when an active account has this address; say nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        log.info("password reset asked for an address without an active account")
        return
    token = _serializer(RESET_SALT).dumps({"u": user.id, "p": _password_mark(user)})
    link = public_url(url_for("auth.reset_password", token=token))
    minutes = settings().reset_link_minutes
    queue_mail(
        user.email,
        "Choose a new password",
        f"Hello {user.display_name},\n\nSomebody, probably you, asked to choose a new password "
        f"for your Benchgate account. Open this link to do so:\n\n{link}\n\nThe link works "
        f"once, for {minutes:g} minutes. If you did not ask, ignore this message: your "
        "password stays as it is.",
        "reset_password",
    )
    db.session.commit()


def account_of_reset_link(token: str) -> User:
    """Return the account a reset link may change the password of.

    Raises:
        Refusal: the link is damaged, too old, already used, or the password changed since.
    """
    max_age = settings().reset_link_minutes * 60
    data = _load(token, RESET_SALT, max_age, "password")
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("p") != _password_mark(user):
        raise Refusal(
            "This link was used already, or the password changed since it was sent. "
            "Ask for a new one if you still need it."
        )
    return user


def reset_with_link(token: str, new_password: str) -> User:
    """Set the password a reset link allows, end every session, and commit.

    Proving the address this way also verifies it.
    """
    user = account_of_reset_link(token)
    user.set_password(new_password, settings().password_hash_method)
    if not user.is_verified:
        user.email_verified_at = utcnow()
    record_event(user, "reset_password_by_email", user)
    end_sessions_of(user, "password reset by email")
    queue_password_notice(user, "through a link mailed to this address")
    db.session.commit()
    return user


def set_mail_opt_outs(user: User, kinds: list[str]) -> None:
    """Record which kinds of notice the member does not want by email, and commit."""
    user.mail_opt_outs = ",".join(sorted(kinds))
    db.session.commit()


def _load(token: str, salt: str, max_age: float, what: str) -> dict:
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Refusal(f"This {what} link is too old. Ask for a new one.") from None
    except BadSignature:
        raise Refusal(
            f"This {what} link is damaged: copy the whole link from the message."
        ) from None
