"""Join requests: a model owner asks to take part in an approved benchmark with a model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, ForeignKey, Table, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import enum_type, utcnow
from app.extensions import db
from app.models.enums import (
    LIVE_JOIN_REQUEST_STATUSES,
    OPEN_JOIN_REQUEST_STATUSES,
    JoinRequestStatus,
)

if TYPE_CHECKING:
    from app.models.benchmark import Benchmark
    from app.models.container import Container
    from app.models.run import Run
    from app.models.user import User


LIVE_INDEX = "uq_join_requests_live"
LIVE_JOIN_REQUEST_WHERE = "status IN ({})".format(
    ", ".join(f"'{status.value}'" for status in sorted(LIVE_JOIN_REQUEST_STATUSES))
)


class JoinRequest(db.Model):
    """One request of a model to join a benchmark, with its test run and the decision.

    History is kept: asking again after a rejection or a failed test makes a new record.
    """

    __tablename__ = "join_requests"
    # One live request (being tested, waiting, or approved) per benchmark and model, even when
    # two askings race past the service's check. The index is partial: its condition is given
    # when the table is created (see live_index_condition).
    __table_args__ = (db.Index(LIVE_INDEX, "benchmark_id", "model_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmarks.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[JoinRequestStatus] = mapped_column(
        enum_type(JoinRequestStatus), default=JoinRequestStatus.TESTING, index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None]

    benchmark: Mapped[Benchmark] = relationship("Benchmark")
    model: Mapped[Container] = relationship("Container")
    requested_by: Mapped[User] = relationship("User", foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship("User", foreign_keys=[decided_by_id])
    run: Mapped[Run | None] = relationship("Run")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_JOIN_REQUEST_STATUSES

    def __repr__(self) -> str:
        return f"<JoinRequest {self.id} {self.status}>"


def live_index_condition(dialect_name: str) -> None:
    """Make the live requests' unique index partial, in the words of one database's dialect.

    A partial index takes a dialect's own keyword (`sqlite_where`, `postgresql_where`).
    Naming PostgreSQL's in the model would make SQLAlchemy import that dialect wherever the
    models are imported, SQLite included (about a fifth of `flask compat-test`'s start-up),
    so the condition is given for the database at hand when the table is created (and when
    migrations compare the schema: migrations/env.py).
    """
    if dialect_name not in ("sqlite", "postgresql"):
        raise RuntimeError(f"Benchgate runs on SQLite or PostgreSQL, not {dialect_name}.")
    index = next(i for i in JoinRequest.__table__.indexes if i.name == LIVE_INDEX)
    index.dialect_kwargs[f"{dialect_name}_where"] = text(LIVE_JOIN_REQUEST_WHERE)


@event.listens_for(JoinRequest.__table__, "before_create")
def _partial_when_created(table: Table, connection: Connection, **_: Any) -> None:
    live_index_condition(connection.dialect.name)
