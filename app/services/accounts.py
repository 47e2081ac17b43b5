"""Accounts: sign-up, sign-in checks, administrators."""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import with_expression

from app.extensions import db
from app.models import AccountSession, Notification, User, normalize_email, utcnow
from app.names import name_problem, normalize_name
from app.passwords import hash_password, password_matches
from app.services.api_tokens import revoke_tokens_of
from app.services.audit import record_event
from app.services.errors import Refusal
from app.services.mail import queue_password_notice
from app.services.page_cache import VERSION_QUERY, remember_data_version
from app.services.sessions import (
    browser_lifetime,
    end_sessions_of,
    hash_token,
    lifetime,
    note_seen,
    start_session,
)
from app.services.users import find_user_by_email
from app.settings import settings


def load_signed_in(token: str) -> User | None:
    """Load the account a live session's token opens, with its unread count, in one query.

    The same query reads the data version that the page's kept lists are looked up under.
    A token of an ended or expired session, or of a deactivated account, opens nothing.
    """
    found = db.session.execute(
        _signed_in_query(),
        {
            "token_hash": hash_token(token),
            "remembered_after": utcnow() - lifetime(),
            "started_after": utcnow() - browser_lifetime(),
        },
    ).first()
    if found is None:
        return None
    user, version, session_id = found
    remember_data_version(version)
    user.session_token, user.session_id = token, session_id
    note_seen(session_id)
    return user


@cache
def _signed_in_query() -> Select:
    # Every page shows the count in its header: asking for it here saves a query per page.
    # Built once: building it and its cache key cost more than running it.
    unread = (
        select(func.count(Notification.id))
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(User, VERSION_QUERY.scalar_subquery(), AccountSession.id)
        .join(AccountSession, AccountSession.user_id == User.id)
        .options(with_expression(User.unread_notifications, unread))
        .where(
            AccountSession.token_hash == bindparam("token_hash"),
            AccountSession.ended_at.is_(None),
            # A browser session lasts SESSION_HOURS, a "remember me" one SESSION_LIFETIME_DAYS.
            AccountSession.created_at
            > case(
                (AccountSession.remember, bindparam("remembered_after")),
                else_=bindparam("started_after"),
            ),
            User.active.is_(True),
        )
        # Fresh even when the account is already in the session (a test's, or after sign-in).
        .execution_options(populate_existing=True)
    )


def register_user(email: str, display_name: str, password: str, *, is_admin: bool = False) -> User:
    """Create an account and commit (sign-up from the web is identity.sign_up)."""
    user = add_user(email, display_name, password, is_admin=is_admin)
    db.session.commit()
    return user


def add_user(email: str, display_name: str, password: str, *, is_admin: bool = False) -> User:
    """Add an account and flush; refuse an email already in use in any letter case."""
    if find_user_by_email(email) is not None:
        raise Refusal("An account with this email already exists. Sign in instead.")
    problem = name_problem(display_name)
    if problem:
        raise Refusal(problem)
    user = User(
        email=normalize_email(email), display_name=normalize_name(display_name), is_admin=is_admin
    )
    user.set_password(password, settings().password_hash_method)
    db.session.add(user)
    db.session.flush()  # its id, for the session and the links that follow
    return user


@cache
def _dummy_hash(method: str) -> str:
    # Hashed as a real password is, so that checking it costs the same time.
    return hash_password(secrets.token_urlsafe(16), method)


def authenticate(email: str, password: str) -> User:
    """Return the account these credentials open, or raise Refusal saying why not.

    A password is hashed whether or not the email has an account, so the answer takes as long
    either way and does not tell which emails have one.
    """
    user = find_user_by_email(email)
    if user is None:
        password_matches(_dummy_hash(settings().password_hash_method), password)
        raise Refusal("The email or the password is wrong.")
    if not user.check_password(password):
        raise Refusal("The email or the password is wrong.")
    if not user.active:
        raise Refusal("This account has been deactivated. Ask an administrator.")
    return user


def create_admin(email: str, password: str | None = None) -> tuple[User, str]:
    """Create an administrator (or promote an existing account); return it and its password.

    A generated password is returned so the caller can show it once; an existing account keeps
    its own password and an empty string is returned. The operator vouches for the address:
    it counts as verified.
    """
    user = find_user_by_email(email)
    if user is not None:
        if not (user.is_admin and user.active):
            record_event(None, "make_admin", user, "from the command line")
        user.is_admin = True
        user.active = True
        user.email_verified_at = user.email_verified_at or utcnow()
        db.session.commit()
        return user, ""
    password = password or secrets.token_urlsafe(12)
    name = normalize_email(email).split("@", 1)[0]
    user = add_user(email, name, password, is_admin=True)
    user.email_verified_at = utcnow()
    record_event(None, "make_admin", user, "created from the command line")
    db.session.commit()
    return user, password


def has_admin() -> bool:
    """Tell whether any active administrator exists."""
    return db.session.scalar(select(User.id).where(User.is_admin, User.active).limit(1)) is not None


def set_admin(user: User, is_admin: bool, *, by: User) -> None:
    """Grant or withdraw the admin flag; an administrator cannot demote themselves."""
    if user.id == by.id and not is_admin:
        raise Refusal("You cannot remove your own administrator rights.")
    if user.is_admin != is_admin:
        user.is_admin = is_admin
        record_event(by, "make_admin" if is_admin else "remove_admin", user)
    db.session.commit()


def set_active(user: User, active: bool, *, by: User) -> None:
    """Activate or deactivate an account; an administrator cannot deactivate themselves."""
    if user.id == by.id and not active:
        raise Refusal("You cannot deactivate your own account.")
    if user.active != active:
        user.active = active
        record_event(by, "reactivate" if active else "deactivate", user)
    if not active:
        end_sessions_of(user, "account deactivated")
        revoke_tokens_of(user, "account deactivated")
    db.session.commit()


def change_password(user: User, current: str, new: str, *, remember: bool = False) -> None:
    """Set a member's new password, if the present one is right; end every other session.

    The browser that changed it is given a new session (sign it in again with user).
    """
    if not user.check_password(current):
        raise Refusal("This is not your present password.")
    user.set_password(new, settings().password_hash_method)
    record_event(user, "change_password", user)
    # Every session ends, "remember me" included; this browser goes on in a new one.
    end_sessions_of(user, "password changed")
    queue_password_notice(user, "on its account page")
    start_session(user, remember=remember)
    db.session.commit()


def reset_password(user: User, *, by: User) -> str:
    """Give an account a new generated password, to be handed over once; return it."""
    if user.id == by.id:
        raise Refusal("Change your own password on your account page.")
    password = secrets.token_urlsafe(12)
    user.set_password(password, settings().password_hash_method)
    record_event(by, "reset_password", user)
    end_sessions_of(user, "password reset by an administrator")
    queue_password_notice(user, f"by an administrator, {by.display_name}")
    db.session.commit()
    return password
