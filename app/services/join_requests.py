"""Join requests: a model owner asks, the model is tested with the benchmark, the owner decides."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Benchmark,
    BenchmarkStatus,
    Container,
    JoinRequest,
    JoinRequestStatus,
    Role,
    Run,
    RunKind,
    RunStatus,
    User,
    utcnow,
)
from app.models.enums import (
    JOIN_REQUEST_TRANSITIONS,
    OPEN_JOIN_REQUEST_STATUSES,
    check_transition,
)
from app.services.audit import record_event
from app.services.benchmarks import benchmark_url
from app.services.errors import FORM, Refusal
from app.services.join_policy import allowlist_of
from app.services.notifications import notify
from app.services.run_outcomes import ENDINGS
from app.services.runs import add_run, slot_from_container
from app.services.users import unverified_problem

# Who may do what.


def can_manage(benchmark: Benchmark, user: User) -> bool:
    """The benchmark's owner and administrators see every request and decide on them."""
    return user.is_authenticated and (user.is_admin or benchmark.owner_id == user.id)


def can_decide(request: JoinRequest, user: User) -> bool:
    """Owner or administrator, never on a request they made themselves."""
    return can_manage(request.benchmark, user) and request.requested_by_id != user.id


# Queries for the pages.


def requests_for(benchmark: Benchmark) -> list[JoinRequest]:
    """Every request to join benchmark, newest first."""
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.benchmark_id == benchmark.id)
            .order_by(JoinRequest.created_at.desc(), JoinRequest.id.desc())
        )
    )


def asked_by_to(user: User, benchmark: Benchmark) -> list[Row]:
    """The requests user made to join benchmark, newest first, as rows for a page.

    Each row has the request's id, status, run_id, created_at and reason, and its model's id
    and name (model_id, model_name).
    """
    params = {"user_id": user.id, "benchmark_id": benchmark.id}
    return list(db.session.execute(_asked_to_query(), params))


@cache
def _asked_to_query() -> Select:
    # Built once, read as rows: every member opening an approved benchmark's page sees them.
    return (
        select(
            JoinRequest.id,
            JoinRequest.status,
            JoinRequest.run_id,
            JoinRequest.created_at,
            JoinRequest.reason,
            JoinRequest.model_id,
            Container.name.label("model_name"),
        )
        .join(Container, Container.id == JoinRequest.model_id)
        .where(
            JoinRequest.requested_by_id == bindparam("user_id"),
            JoinRequest.benchmark_id == bindparam("benchmark_id"),
        )
        .order_by(JoinRequest.created_at.desc(), JoinRequest.id.desc())
    )


def asked_by_query(user: User, benchmark: Benchmark | None = None) -> Select:
    """Select the requests user made (to one benchmark, when given), newest first."""
    query = select(JoinRequest).where(JoinRequest.requested_by_id == user.id)
    if benchmark is not None:
        query = query.where(JoinRequest.benchmark_id == benchmark.id)
    return query.order_by(JoinRequest.created_at.desc(), JoinRequest.id.desc())


# What a model owner does.


def ask_to_join(benchmark: Benchmark, model: Container, by: User) -> JoinRequest:
    """Record a request in testing with the test of the model with the benchmark; commit.

    The request, its run and the link between them are committed together, and the job is
    queued after that commit, so even a run that ends at once finds its request.
    """
    problem = unverified_problem(by)
    if problem:
        raise Refusal(problem)
    _check_request(benchmark, model, by)
    request = JoinRequest(
        benchmark_id=benchmark.id,
        model_id=model.id,
        requested_by_id=by.id,
        status=JoinRequestStatus.TESTING,
    )
    slots = {
        Role.DATA_PREPARATOR: slot_from_container(benchmark.prep),
        Role.MODEL: slot_from_container(model),
        Role.EVALUATOR: slot_from_container(benchmark.evaluator),
    }
    try:
        db.session.add(request)
        record_event(by, "ask_to_join", request, f"model “{model.name}”")
        run = add_run(
            by,
            slots=slots,
            demo_url=benchmark.demo_url,
            demo_sha256=benchmark.demo_sha256,
            kind=RunKind.JOIN_REQUEST,
            benchmark_id=benchmark.id,
            # The benchmark's own containers are its owner's to use, in development or not.
            used_for={Role.DATA_PREPARATOR: benchmark.owner, Role.EVALUATOR: benchmark.owner},
        )
        request.run_id = run.id
        db.session.commit()
    except Refusal as error:
        db.session.rollback()
        raise Refusal(
            field_errors={
                "model_id" if slot == "model" else FORM: msgs for slot, msgs in error.errors.items()
            }
        ) from None
    except IntegrityError:
        # Another asking of the same model was recorded since the check (uq_join_requests_live):
        # nothing of this one is kept, and nothing was queued.
        db.session.rollback()
        problem = _duplicate_problem(benchmark, model) or "Another request came first: ask again."
        raise Refusal(field_errors={"model_id": [problem]}) from None
    return request


def _check_request(benchmark: Benchmark, model: Container, by: User) -> None:
    """Refuse a request on an unapproved benchmark, with an unusable model, or a duplicate."""
    if benchmark.status != BenchmarkStatus.APPROVED:
        raise Refusal(f"“{benchmark.name}” is not approved, so it does not take join requests.")
    problem = None
    if model.role != Role.MODEL:
        problem = f"{model.name} is a {model.role.label.lower()}, not a model."
    elif not model.is_valid:
        problem = f"{model.name} was marked invalid and cannot join a benchmark."
    elif model.owner_id != by.id and not model.is_operational:
        problem = (
            f"{model.name} belongs to {model.owner.display_name} and is still in development: "
            "only its owner can use it until it is made operational."
        )
    elif model.id == benchmark.model_id:
        problem = f"{model.name} is this benchmark's reference model: it takes part already."
    if problem is None:
        problem = _duplicate_problem(benchmark, model)
    if problem:
        raise Refusal(field_errors={"model_id": [problem]})


def _duplicate_problem(benchmark: Benchmark, model: Container) -> str | None:
    statuses = db.session.scalars(
        select(JoinRequest.status).where(
            JoinRequest.benchmark_id == benchmark.id, JoinRequest.model_id == model.id
        )
    ).all()
    if JoinRequestStatus.APPROVED in statuses:
        return f"{model.name} has already joined this benchmark."
    if any(status in OPEN_JOIN_REQUEST_STATUSES for status in statuses):
        return (
            f"{model.name} already has a request to join this benchmark being tested or "
            "waiting for a decision. Wait for its outcome before asking again."
        )
    return None


# What the test's outcome does: the handler of join-request runs (see services.run_outcomes),
# called inside the transaction that ends the run, so it does not commit.


def settle_join_test(run: Run) -> None:
    """Move the run's join request out of testing by the run's outcome."""
    request = db.session.scalar(select(JoinRequest).where(JoinRequest.run_id == run.id))
    if request is None or request.status != JoinRequestStatus.TESTING:
        return
    benchmark, model = request.benchmark, request.model
    url = benchmark_url(benchmark)
    if run.status != RunStatus.PASSED:
        _move(request, JoinRequestStatus.TEST_FAILED)
        ending = ENDINGS.get(run.status, "ended")
        summary = run.failure_summary or f"the test {ending}"
        record_event(None, "test_failed", request, summary)
        notify(
            request.requested_by_id,
            f"The test of your model “{model.name}” with the benchmark “{benchmark.name}” "
            f"{ending}: {summary.rstrip('.')}. Open the test to see why; fix the model and ask "
            "again.",
            url,
            mail="test_failed",
        )
        return
    _move(request, JoinRequestStatus.PENDING)
    request.results = run.results
    record_event(None, "test_passed", request)
    why = _automatic_approval(request)
    if why:
        _approve(request, None, why)
        return
    notify(
        benchmark.owner_id,
        f"{request.requested_by.display_name} asks to join your benchmark “{benchmark.name}” "
        f"with the model “{model.name}”. Its test passed: compare its results and decide.",
        url,
        mail="join_to_decide",
    )
    notify(
        request.requested_by_id,
        f"Your model “{model.name}” passed its test with the benchmark “{benchmark.name}”. "
        "The benchmark's owner now decides; you will be told here.",
        url,
    )


def _automatic_approval(request: JoinRequest) -> str | None:
    """Say why the request needs nobody's decision, or None when the owner decides."""
    benchmark = request.benchmark
    if request.model.owner_id == benchmark.owner_id:
        return "approved automatically: the model belongs to the benchmark's owner"
    if benchmark.join_policy == "always":
        return "approved automatically: the benchmark accepts every model that passes its test"
    asker = request.requested_by
    # An address nobody proved is anyone's to claim: only a verified one matches the list.
    if (
        benchmark.join_policy == "list"
        and asker.is_verified
        and asker.email in allowlist_of(benchmark)
    ):
        return "approved automatically: the asker's email is on the benchmark's list"
    return None


# What the benchmark's owner (or an administrator) does.


def decide_join_request(
    request: JoinRequest, approve: bool, by: User, reason: str | None = None
) -> JoinRequest:
    """Approve or reject a pending request; a rejection needs a reason the asker reads.

    Raises:
        PermissionError: by is neither the benchmark's owner nor an administrator, or asked.
        Refusal: a rejection without a reason (under the "reason" field).
        InvalidTransition: the request is not pending.
    """
    if not can_manage(request.benchmark, by):
        raise PermissionError("only the benchmark's owner or an administrator decides")
    if request.requested_by_id == by.id:
        raise PermissionError("nobody decides on their own join request")
    reason = (reason or "").strip() or None
    if approve:
        if request.benchmark.status != BenchmarkStatus.APPROVED:
            raise Refusal("The benchmark is no longer approved: no model can join it.")
        check_transition(JOIN_REQUEST_TRANSITIONS, request.status, JoinRequestStatus.APPROVED)
        _approve(request, by, reason)
    else:
        if reason is None:
            raise Refusal(
                field_errors={
                    "reason": ["Please give the reason for the rejection: the asker reads it."]
                }
            )
        _move(request, JoinRequestStatus.REJECTED)
        _decided(request, by, reason)
        record_event(by, "reject", request, reason)
        notify(
            request.requested_by_id,
            f"Your request to join “{request.benchmark.name}” with the model "
            f"“{request.model.name}” was rejected: {reason}",
            benchmark_url(request.benchmark),
            mail="join_decided",
        )
    db.session.commit()
    return request


def _approve(request: JoinRequest, by: User | None, reason: str | None) -> None:
    """Approve a pending request and tell the asker, and the owner when nobody asked them."""
    _move(request, JoinRequestStatus.APPROVED)
    _decided(request, by, reason)
    record_event(by, "approve", request, reason)
    benchmark, model = request.benchmark, request.model
    url = benchmark_url(benchmark)
    notify(
        request.requested_by_id,
        f"Your model “{model.name}” has joined the benchmark “{benchmark.name}”.",
        url,
        mail="join_decided",
    )
    if by is None and benchmark.owner_id != request.requested_by_id:
        notify(
            benchmark.owner_id,
            f"The model “{model.name}” of {request.requested_by.display_name} passed its test "
            f"and joined your benchmark “{benchmark.name}” ({reason}).",
            url,
        )


def _move(request: JoinRequest, new: JoinRequestStatus) -> None:
    check_transition(JOIN_REQUEST_TRANSITIONS, request.status, new)
    request.status = new


def _decided(request: JoinRequest, by: User | None, reason: str | None) -> None:
    request.decided_by_id = by.id if by is not None else None
    request.decided_at = utcnow()
    request.reason = reason
