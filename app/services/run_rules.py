"""Who may start a run with which containers: one rule for a new run and for a re-run of any kind.

A registered container fills a place of a run only when it has that place's role, is still
valid, and the member it is used for owns it or it is operational (frozen). A benchmark's
containers are used for its owner, whoever starts the test; a join test uses the benchmark's
data preparator and evaluator for the benchmark's owner and the model for the one who asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.extensions import db
from app.models import Benchmark, BenchmarkStatus, Container, Role, Run, RunKind, User
from app.services.errors import Refusal
from workers.roles import SLOTS


def container_use_problem(container: Container, user: User, slot: str) -> str | None:
    """Say why container cannot fill this place of a run made for user, or return None."""
    if container.role != slot:
        return f"{container.name} is {container.role.a_noun}, not {Role(slot).a_noun}."
    if not container.is_valid:
        return f"{container.name} was marked invalid and cannot be tested."
    if container.owner_id != user.id and not container.is_operational:
        return (
            f"{container.name} belongs to another member and is still in development: only "
            "its owner can use it until it is made operational."
        )
    return None


def check_slots(
    slots: Mapping[str, Mapping[str, Any]],
    requester: User,
    used_for: Mapping[str, User] | None = None,
) -> dict[str, Container | None]:
    """Load the registered containers of the slots and check each may be used; raise all problems.

    Args:
        used_for: the member a slot's container is used for, when not the requester (a
            benchmark's containers are its owner's to use).
    """
    errors: dict[str, list[str]] = {}
    containers: dict[str, Container | None] = {}
    for slot in SLOTS:
        spec = slots.get(slot)
        if not spec:
            errors.setdefault(slot, []).append(f"Choose {Role(slot).a_noun}.")
            continue
        container = None
        if spec.get("container_id") is not None:
            container = db.session.get(Container, spec["container_id"])
            user = (used_for or {}).get(slot, requester)
            problem = (
                "This container no longer exists."
                if container is None
                else container_use_problem(container, user, slot)
            )
            if problem:
                errors.setdefault(slot, []).append(problem)
        elif not spec.get("config_url"):
            errors.setdefault(slot, []).append(f"Give the {Role(slot).noun}'s configuration link.")
        containers[slot] = container
    if errors:
        raise Refusal(field_errors=errors)
    return containers


def rerun_users(run: Run, by: User) -> dict[str, User]:
    """Check that by may run this run again now, as a new run of its kind would be checked.

    Returns the member each slot's container is used for, when not `by`.

    Raises:
        Refusal: the run has not ended, or its benchmark no longer allows it.
    """
    if not run.is_finished:
        raise Refusal(field_errors={"run": ["This run has not finished yet."]})
    if run.kind == RunKind.WORKFLOW_TEST:
        return {}
    benchmark = db.session.get(Benchmark, run.benchmark_id) if run.benchmark_id else None
    if benchmark is None:
        raise Refusal(
            field_errors={"run": ["The benchmark this test belonged to no longer exists."]}
        )
    owner = benchmark.owner
    if run.kind == RunKind.BENCHMARK:
        if not (by.is_admin or by.id == benchmark.owner_id):
            raise Refusal(
                field_errors={
                    "run": [
                        f"Only the owner of “{benchmark.name}” or an administrator may run "
                        "its test again."
                    ]
                }
            )
        if benchmark.status == BenchmarkStatus.REJECTED:
            raise Refusal(
                field_errors={"run": [f"“{benchmark.name}” was rejected, so its tests are over."]}
            )
        return dict.fromkeys(SLOTS, owner)
    if benchmark.status != BenchmarkStatus.APPROVED:
        raise Refusal(
            field_errors={
                "run": [f"“{benchmark.name}” is no longer approved, so it takes no join tests."]
            }
        )
    return {Role.DATA_PREPARATOR: owner, Role.EVALUATOR: owner}
