"""Signed-in sessions: one row per sign-in, so that each can be listed and ended for good."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class AccountSession(db.Model):
    """One signed-in browser (or "remember me" cookie) of an account.

    The browser holds a random token; only its SHA-256 is stored, so a copy of the database
    opens no session. A session ends at sign-out, when its member or an administrator ends
    it, when the password changes or the account is deactivated, and after its lifetime.
    """

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    device: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
