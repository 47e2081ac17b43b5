"""Finding an account and whether it may act: without sign-in's modules (`flask compat-test`)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User, normalize_email


def find_user_by_email(email: str) -> User | None:
    """Return the account with this email, whatever its case."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


UNVERIFIED = (
    "Confirm your email address first: open the link we mailed to {email}. "
    "Your account page can send it again."
)


def unverified_problem(user: User) -> str | None:
    """Say why an account may not submit, register, test or ask to join yet, or None."""
    return None if user.is_verified else UNVERIFIED.format(email=user.email)
