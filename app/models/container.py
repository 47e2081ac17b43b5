"""Registered containers: a MedPerf container configuration and its files, by link."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import enum_type, utcnow
from app.extensions import db
from app.models.enums import ContainerState, Role

if TYPE_CHECKING:
    from app.models.user import User


class Container(db.Model):
    """A data preparator, model or evaluator; frozen once operational."""

    __tablename__ = "containers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128), unique=True)  # lower-cased name
    role: Mapped[Role] = mapped_column(enum_type(Role), index=True)
    image: Mapped[str] = mapped_column(String(512))
    config_url: Mapped[str] = mapped_column(String(2048))
    config_sha256: Mapped[str] = mapped_column(String(64))
    config_text: Mapped[str] = mapped_column(Text)
    parameters_url: Mapped[str | None] = mapped_column(String(2048))
    parameters_sha256: Mapped[str | None] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    additional_files_url: Mapped[str | None] = mapped_column(String(2048))
    additional_files_sha256: Mapped[str | None] = mapped_column(String(64))
    image_digest: Mapped[str | None] = mapped_column(String(80))
    # True when the owner gave the digest; False when a passing test pinned it.
    digest_given: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ContainerState] = mapped_column(
        enum_type(ContainerState), default=ContainerState.DEVELOPMENT
    )
    is_valid: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship("User", lazy="joined")

    # The catalogue pages through ids in name order, filtered by role, from this index alone.
    __table_args__ = (db.Index("ix_containers_catalogue", "name_key", "id", "role"),)

    @property
    def is_operational(self) -> bool:
        return self.state == ContainerState.OPERATIONAL

    def __repr__(self) -> str:
        return f"<Container {self.id} {self.name!r} {self.role}>"
