"""Queue checks: an administrator's proof that workers take jobs from the queue."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class QueueCheck(db.Model):
    """One round trip through Redis and a worker, recorded by the worker itself."""

    __tablename__ = "queue_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    worker_name: Mapped[str | None] = mapped_column(String(200))

    @property
    def round_trip_seconds(self) -> float | None:
        """Seconds from the request to the worker's answer, once answered."""
        if self.answered_at is None:
            return None
        return (self.answered_at - self.requested_at).total_seconds()
