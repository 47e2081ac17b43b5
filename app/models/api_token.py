"""Personal access tokens: a member's scripts reach the API with them instead of a password."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.user import User

SCOPES = ("read", "write", "admin")


class ApiToken(db.Model):
    """One named token of an account, with its scopes, expiry and last use.

    The token itself is shown once, when it is made; only its SHA-256 is stored, so a copy
    of the database opens nothing. A revoked or expired token, or one of a deactivated
    account, is refused.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    scopes: Mapped[str] = mapped_column(String(40), default="read")  # space-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship("User", lazy="joined")

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in SCOPES if scope in self.scopes.split()]

    def allows(self, scope: str) -> bool:
        """Tell whether the token was given this scope (every token may read)."""
        return scope == "read" or scope in self.scopes.split()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} of user {self.user_id}>"
