"""Status enums and the transitions each one allows, in one place."""

from enum import StrEnum

from workers.roles import Role

__all__ = ["Role"]  # the container roles live in the core, for the worker's messages too


class ContainerState(StrEnum):
    DEVELOPMENT = "development"
    OPERATIONAL = "operational"


class RunKind(StrEnum):
    WORKFLOW_TEST = "workflow_test"
    BENCHMARK = "benchmark"
    JOIN_REQUEST = "join_request"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    CANCELED = "canceled"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self in FINISHED_RUN_STATUSES


FINISHED_RUN_STATUSES = frozenset(
    {RunStatus.PASSED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.ERROR}
)

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELED, RunStatus.ERROR}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.PASSED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.ERROR}
    ),
    RunStatus.PASSED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELED: frozenset(),
    RunStatus.ERROR: frozenset(),
}


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


STEP_NAMES = ("fetch", "prepare", "sanity_check", "statistics", "infer", "evaluate")


class BenchmarkStatus(StrEnum):
    TESTING = "testing"
    PENDING_APPROVAL = "pending_approval"
    TEST_FAILED = "test_failed"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"


BENCHMARK_TRANSITIONS: dict[BenchmarkStatus, frozenset[BenchmarkStatus]] = {
    BenchmarkStatus.TESTING: frozenset(
        {BenchmarkStatus.PENDING_APPROVAL, BenchmarkStatus.TEST_FAILED}
    ),
    BenchmarkStatus.TEST_FAILED: frozenset({BenchmarkStatus.TESTING}),
    BenchmarkStatus.PENDING_APPROVAL: frozenset(
        {BenchmarkStatus.APPROVED, BenchmarkStatus.CHANGES_REQUESTED, BenchmarkStatus.REJECTED}
    ),
    BenchmarkStatus.CHANGES_REQUESTED: frozenset({BenchmarkStatus.TESTING}),
    BenchmarkStatus.APPROVED: frozenset({BenchmarkStatus.REJECTED}),
    BenchmarkStatus.REJECTED: frozenset(),
}

EDITABLE_BENCHMARK_STATUSES = frozenset(
    {BenchmarkStatus.TESTING, BenchmarkStatus.TEST_FAILED, BenchmarkStatus.CHANGES_REQUESTED}
)


class JoinRequestStatus(StrEnum):
    TESTING = "testing"
    PENDING = "pending"
    TEST_FAILED = "test_failed"
    APPROVED = "approved"
    REJECTED = "rejected"


JOIN_REQUEST_TRANSITIONS: dict[JoinRequestStatus, frozenset[JoinRequestStatus]] = {
    JoinRequestStatus.TESTING: frozenset(
        {JoinRequestStatus.PENDING, JoinRequestStatus.TEST_FAILED}
    ),
    JoinRequestStatus.PENDING: frozenset({JoinRequestStatus.APPROVED, JoinRequestStatus.REJECTED}),
    JoinRequestStatus.TEST_FAILED: frozenset(),
    JoinRequestStatus.APPROVED: frozenset(),
    JoinRequestStatus.REJECTED: frozenset(),
}

# A request in one of these is still being handled: a second one for the same model waits.
OPEN_JOIN_REQUEST_STATUSES = frozenset({JoinRequestStatus.TESTING, JoinRequestStatus.PENDING})
# A model has at most one of these per benchmark: open, or joined.
LIVE_JOIN_REQUEST_STATUSES = OPEN_JOIN_REQUEST_STATUSES | {JoinRequestStatus.APPROVED}

JOIN_POLICIES = ("never", "always", "list")


class InvalidTransition(Exception):
    """A status change that the state machine does not allow."""


def check_transition(table: dict, current, new) -> None:
    """Raise InvalidTransition unless `table` allows going from current to new."""
    if new not in table[current]:
        raise InvalidTransition(f"cannot go from {current} to {new}")
