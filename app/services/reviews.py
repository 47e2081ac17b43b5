"""An administrator's decisions on benchmarks: approve, request changes, reject, revoke."""

from __future__ import annotations

from app.extensions import db
from app.models import Benchmark, BenchmarkStatus, Container, ContainerState, Role, User
from app.models.enums import BENCHMARK_TRANSITIONS, InvalidTransition, check_transition
from app.services.audit import record_event
from app.services.benchmarks import benchmark_url
from app.services.errors import Refusal
from app.services.notifications import notify

REASON_NEEDED = {
    "request_changes": "Please tell the owner what to change: they read this reason.",
    "reject": "Please give the reason for the rejection: the owner reads it.",
    "revoke": "Please give the reason for revoking the approval: the owner reads it.",
}


def approve_benchmark(benchmark: Benchmark, *, by: User, reason: str | None = None) -> Benchmark:
    """Approve a benchmark awaiting review; freeze its owner's containers when asked."""
    _decide(benchmark, by, BenchmarkStatus.APPROVED, "approve", reason)
    frozen = freeze_own_containers(benchmark, by) if benchmark.make_operational else []
    made = f" Its containers {_names(frozen)} are now operational." if frozen else ""
    notify(
        benchmark.owner_id,
        f"Your benchmark “{benchmark.name}” is approved: every member can see it now.{made}",
        benchmark_url(benchmark),
        mail="benchmark_approved",
    )
    db.session.commit()
    return benchmark


def request_changes(benchmark: Benchmark, *, by: User, reason: str | None) -> Benchmark:
    """Send a benchmark awaiting review back to its owner, saying what to change."""
    reason = _decide(benchmark, by, BenchmarkStatus.CHANGES_REQUESTED, "request_changes", reason)
    notify(
        benchmark.owner_id,
        f"An administrator asks for changes to your benchmark “{benchmark.name}”: {reason} "
        "Edit it and it is tested again.",
        benchmark_url(benchmark),
        mail="changes_requested",
    )
    db.session.commit()
    return benchmark


def reject_benchmark(benchmark: Benchmark, *, by: User, reason: str | None) -> Benchmark:
    """Reject a benchmark awaiting review, for good."""
    if benchmark.status == BenchmarkStatus.APPROVED:
        raise InvalidTransition("an approved benchmark is rejected by revoking its approval")
    reason = _decide(benchmark, by, BenchmarkStatus.REJECTED, "reject", reason)
    notify(
        benchmark.owner_id,
        f"Your benchmark “{benchmark.name}” was rejected: {reason}",
        benchmark_url(benchmark),
        mail="benchmark_rejected",
    )
    db.session.commit()
    return benchmark


def revoke_approval(benchmark: Benchmark, *, by: User, reason: str | None) -> Benchmark:
    """Withdraw an approval: the benchmark ends rejected, for good."""
    if benchmark.status != BenchmarkStatus.APPROVED:
        raise InvalidTransition("only an approved benchmark can have its approval revoked")
    reason = _decide(benchmark, by, BenchmarkStatus.REJECTED, "revoke", reason)
    notify(
        benchmark.owner_id,
        f"The approval of your benchmark “{benchmark.name}” was revoked: {reason}",
        benchmark_url(benchmark),
        mail="benchmark_rejected",
    )
    db.session.commit()
    return benchmark


def freeze_own_containers(benchmark: Benchmark, by: User) -> list[Container]:
    """Make the benchmark owner's own containers in development operational (no commit).

    The containers service's make_operational cannot serve here: it lets only the owner act
    and commits on its own, while this happens inside the administrator's approval.
    """
    frozen = []
    digests = (benchmark.run.digests if benchmark.run else None) or {}
    slots = {
        Role.DATA_PREPARATOR: benchmark.prep,
        Role.MODEL: benchmark.model,
        Role.EVALUATOR: benchmark.evaluator,
    }
    for slot, container in slots.items():
        mine = container.owner_id == benchmark.owner_id
        if mine and container.is_valid and not container.is_operational:
            container.state = ContainerState.OPERATIONAL
            # Frozen with the image the administrator reviewed, not an older pin.
            if digests.get(slot) and not container.digest_given:
                container.image_digest = digests[slot]
            record_event(
                by, "make_operational", container, f"benchmark “{benchmark.name}” approved"
            )
            frozen.append(container)
    return frozen


def _decide(
    benchmark: Benchmark, by: User, new: BenchmarkStatus, action: str, reason: str | None
) -> str | None:
    """Check who decides, the reason and the transition; change the status and record it.

    Raises:
        PermissionError: by is not an administrator.
        Refusal: a reason is needed and missing (under the "reason" field).
        InvalidTransition: the state machine does not allow the change.
    """
    if not by.is_admin:
        raise PermissionError("only administrators decide on benchmarks")
    reason = (reason or "").strip() or None
    if reason is None and action in REASON_NEEDED:
        raise Refusal(field_errors={"reason": [REASON_NEEDED[action]]})
    check_transition(BENCHMARK_TRANSITIONS, benchmark.status, new)
    benchmark.status = new
    record_event(by, action, benchmark, reason)
    return _sentence(reason) if reason else None


def _sentence(text: str) -> str:
    # The reason is quoted inside a longer message, which must still read as sentences.
    return text if text[-1] in ".!?" else text + "."


def _names(containers: list[Container]) -> str:
    return ", ".join(f"“{c.name}”" for c in containers)
