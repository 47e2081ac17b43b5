"""Accounts: members and administrators."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from app.database import utcnow
from app.extensions import db
from app.passwords import hash_password, password_matches


def normalize_email(email: str) -> str:
    """Return the form of an email address that uniqueness is checked on."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    """A person with an account; emails are stored lower-cased so uniqueness ignores case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the member opened the link mailed to the address (services.identity).
    email_verified_at: Mapped[datetime | None]
    # Kinds of notice (services.mail.NOTICE_KINDS) the member asked not to get by email.
    mail_opt_outs: Mapped[str] = mapped_column(String(400), default="")

    # Loaded with the signed-in account, in the same query (services.accounts.load_signed_in);
    # None when the account was loaded any other way, or refreshed since.
    unread_notifications: Mapped[int | None] = query_expression()

    # The signed-in session this account was loaded through (services.sessions): its cookie
    # carries the token, never the account's id.
    session_token = None
    session_id = None

    @property
    def is_verified(self) -> bool:
        """Tell whether the member proved the email address is theirs."""
        return self.email_verified_at is not None

    def wants_mail(self, kind: str) -> bool:
        """Tell whether the member takes this kind of notice by email."""
        return kind not in self.mail_opt_outs.split(",")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in to inactive accounts
        return self.active

    def get_id(self) -> str:
        """The value Flask-Login keeps in the cookies: the session's token."""
        if not self.session_token:
            raise RuntimeError("start a session (services.sessions.start_session) first")
        return self.session_token

    def set_password(self, password: str, method: str) -> None:
        """Store a salted hash of the password, made with method (PASSWORD_HASH_METHOD)."""
        self.password_hash = hash_password(password, method)

    def check_password(self, password: str) -> bool:
        """Tell whether the password matches the stored hash."""
        return password_matches(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
