"""Database models; importing this package registers every table."""

from app.database import Base, utcnow
from app.models.queue_check import QueueCheck
from app.models.user import User, normalize_email

__all__ = ["Base", "QueueCheck", "User", "normalize_email", "utcnow"]
