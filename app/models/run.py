"""Compatibility-test runs and their six steps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import SafeJSON, SafeText, enum_type, utcnow
from app.extensions import db
from app.models.enums import RunKind, RunStatus, StepStatus

if TYPE_CHECKING:
    from app.models.container import Container
    from app.models.user import User


class Run(db.Model):
    """One compatibility test: three containers on a demo dataset, executed by a worker.

    `inputs` is a complete description of what to run, so that a re-run repeats it exactly:
    per slot, either a registered container id or ad-hoc links, with expected hashes.
    """

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[RunKind] = mapped_column(enum_type(RunKind), default=RunKind.WORKFLOW_TEST)
    status: Mapped[RunStatus] = mapped_column(
        enum_type(RunStatus), default=RunStatus.QUEUED, index=True
    )
    benchmark_id: Mapped[int | None] = mapped_column(
        ForeignKey("benchmarks.id", use_alter=True), index=True
    )
    prep_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), index=True)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("containers.id"), index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(SafeJSON)
    demo_url: Mapped[str] = mapped_column(String(2048))
    demo_sha256: Mapped[str | None] = mapped_column(String(64))
    rerun_of_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))

    dispatched: Mapped[bool] = mapped_column(default=False)  # handed to RQ
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker_name: Mapped[str | None] = mapped_column(String(200))

    results: Mapped[dict[str, Any] | None] = mapped_column(SafeJSON)
    statistics: Mapped[dict[str, Any] | None] = mapped_column(SafeJSON)
    prepared_data_uid: Mapped[str | None] = mapped_column(String(64))
    hashes: Mapped[dict[str, Any] | None] = mapped_column(SafeJSON)
    digests: Mapped[dict[str, Any] | None] = mapped_column(SafeJSON)
    failure_cause: Mapped[str | None] = mapped_column(String(40))
    failure_summary: Mapped[str | None] = mapped_column(SafeText)
    failure_log_tail: Mapped[str | None] = mapped_column(SafeText)
    # The full log, kept when the run ends; up to megabytes, so read only when asked for.
    log_text: Mapped[str | None] = mapped_column(SafeText, deferred=True)

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    requester: Mapped[User] = relationship("User", lazy="joined")
    prep: Mapped[Container | None] = relationship("Container", foreign_keys=[prep_id])
    model: Mapped[Container | None] = relationship("Container", foreign_keys=[model_id])
    evaluator: Mapped[Container | None] = relationship("Container", foreign_keys=[evaluator_id])
    steps: Mapped[list[RunStep]] = relationship(
        back_populates="run", order_by="RunStep.position", cascade="all, delete-orphan"
    )

    # A member's runs, newest first, are cut from this index alone (see services.listings).
    __table_args__ = (db.Index("ix_runs_requester_created", "requester_id", "created_at", "id"),)

    @property
    def is_finished(self) -> bool:
        return self.status.finished

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status}>"


class RunStep(db.Model):
    """One of the six steps of a run, with its own timing, exit code and log tail."""

    __tablename__ = "run_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[StepStatus] = mapped_column(enum_type(StepStatus), default=StepStatus.PENDING)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    exit_code: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(SafeText)
    log_tail: Mapped[str | None] = mapped_column(SafeText)

    run: Mapped[Run] = relationship(back_populates="steps")

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
