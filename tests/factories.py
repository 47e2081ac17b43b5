"""Small builders of records for tests."""

from __future__ import annotations

from app.extensions import db
from app.models import utcnow
from app.services.accounts import register_user

PASSWORD = "correct horse battery"


def make_user(
    email: str = "ana@example.org",
    name: str = "Ana",
    *,
    admin: bool = False,
    password: str = PASSWORD,
    verified: bool = True,
):
    """Create and return an account, its email verified unless asked otherwise."""
    user = register_user(email, name, password, is_admin=admin)
    if verified:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user
