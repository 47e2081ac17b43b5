"""Benchmarks, the review trail, and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import enum_type, utcnow
from app.extensions import db
from app.models.enums import BenchmarkStatus

if TYPE_CHECKING:
    from app.models.container import Container
    from app.models.run import Run
    from app.models.user import User


class Benchmark(db.Model):
    """A benchmark: three containers and a demo dataset, tested, then reviewed."""

    __tablename__ = "benchmarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    docs_url: Mapped[str | None] = mapped_column(String(2048))
    demo_url: Mapped[str] = mapped_column(String(2048))
    demo_sha256: Mapped[str | None] = mapped_column(String(64))
    prepared_data_uid: Mapped[str | None] = mapped_column(String(64))
    prep_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", use_alter=True))
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[BenchmarkStatus] = mapped_column(
        enum_type(BenchmarkStatus), default=BenchmarkStatus.TESTING
    )
    join_policy: Mapped[str] = mapped_column(String(16), default="never")
    join_allowlist: Mapped[str] = mapped_column(Text, default="")
    make_operational: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    owner: Mapped[User] = relationship("User", lazy="joined")
    prep: Mapped[Container] = relationship("Container", foreign_keys=[prep_id])
    model: Mapped[Container] = relationship("Container", foreign_keys=[model_id])
    evaluator: Mapped[Container] = relationship("Container", foreign_keys=[evaluator_id])
    run: Mapped[Run | None] = relationship("Run", foreign_keys=[run_id], post_update=True)

    # The review queue (a status, the longest waiting first) is read from this index alone; it
    # also counts the benchmarks of a status, as the catalogue does.
    __table_args__ = (db.Index("ix_benchmarks_review", "status", "submitted_at", "id"),)


class AuditEvent(db.Model):
    """Who did what to which record, when, and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship("User", lazy="joined")

    __table_args__ = (db.Index("ix_audit_subject", "subject_type", "subject_id"),)


class Notification(db.Model):
    """A message for one member, shown in the portal until read."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
