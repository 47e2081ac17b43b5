"""Small builders of records for tests."""

from __future__ import annotations

from app.services.accounts import register_user

PASSWORD = "correct horse battery"


def make_user(
    email: str = "ana@example.org",
    name: str = "Ana",
    *,
    admin: bool = False,
    password: str = PASSWORD,
):
    """Create and return an account."""
    return register_user(email, name, password, is_admin=admin)
