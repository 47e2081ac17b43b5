"""Database models; importing this package registers every table."""

from app.database import Base, utcnow
from app.models.account_session import AccountSession
from app.models.api_token import ApiToken
from app.models.benchmark import AuditEvent, Benchmark, Notification
from app.models.container import Container
from app.models.data_version import DATA_VERSION_ID, DataVersion
from app.models.enums import (
    BenchmarkStatus,
    ContainerState,
    JoinRequestStatus,
    Role,
    RunKind,
    RunStatus,
    StepStatus,
)
from app.models.join_request import JoinRequest
from app.models.mail import OutgoingMail
from app.models.queue_check import QueueCheck
from app.models.run import Run, RunStep
from app.models.user import User, normalize_email

__all__ = [
    "AccountSession",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Benchmark",
    "BenchmarkStatus",
    "Container",
    "DATA_VERSION_ID",
    "DataVersion",
    "Role",
    "ContainerState",
    "JoinRequest",
    "JoinRequestStatus",
    "Notification",
    "OutgoingMail",
    "QueueCheck",
    "Run",
    "RunKind",
    "RunStatus",
    "RunStep",
    "StepStatus",
    "User",
    "normalize_email",
    "utcnow",
]
