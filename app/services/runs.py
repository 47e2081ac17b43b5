"""Compatibility-test runs: create, dispatch to the queue, cancel, re-run, and who may see them.

Services here add and flush; the use cases (create_run, rerun, cancel_run, and finish_run for
the worker) commit once. What follows a commit (queueing the job, telling the live log) is
asked for with after_commit, so it happens only once the rows are saved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Benchmark,
    Container,
    Role,
    Run,
    RunKind,
    RunStatus,
    RunStep,
    StepStatus,
    User,
    utcnow,
)
from app.models.enums import RUN_TRANSITIONS, STEP_NAMES, check_transition
from app.services import run_outcomes
from app.services.commit_hooks import after_commit
from app.services.dispatching import mark_dispatched
from app.services.errors import Refusal
from app.services.queue import enqueue, get_queue, redis_client
from app.services.run_events import cancel_key, expire_stream, publish
from app.services.run_limits import job_timeout_seconds
from app.services.run_rules import check_slots, rerun_users
from app.services.users import unverified_problem
from app.settings import settings
from workers.roles import SLOTS

log = logging.getLogger(__name__)

JOB_FUNCTION = "app.jobs.tasks.run_compatibility_test"


def job_id(run_id: int) -> str:
    """The RQ job id of a run."""
    return f"run-{run_id}"


def slot_from_container(container: Container) -> dict[str, Any]:
    """Describe a registered container as a run input."""
    return {"container_id": container.id, "name": container.name}


def slot_from_links(
    config_url: str,
    *,
    config_sha256: str | None = None,
    parameters_url: str | None = None,
    parameters_sha256: str | None = None,
    additional_files_url: str | None = None,
    additional_files_sha256: str | None = None,
    expected_digest: str | None = None,
) -> dict[str, Any]:
    """Describe an unregistered container, given by links, as a run input."""
    return {
        "container_id": None,
        "config_url": config_url,
        "config_sha256": _lower(config_sha256),
        "parameters_url": parameters_url or None,
        "parameters_sha256": _lower(parameters_sha256),
        "additional_files_url": additional_files_url or None,
        "additional_files_sha256": _lower(additional_files_sha256),
        "expected_digest": expected_digest or None,
    }


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def create_run(requester: User, **details: Any) -> Run:
    """Start a run: record it (see add_run), commit, and queue its job once committed."""
    run = add_run(requester, **details)
    db.session.commit()
    return run


def add_run(
    requester: User,
    *,
    slots: dict[str, dict[str, Any]],
    demo_url: str,
    demo_sha256: str | None = None,
    kind: RunKind = RunKind.WORKFLOW_TEST,
    benchmark_id: int | None = None,
    rerun_of: Run | None = None,
    used_for: Mapping[str, User] | None = None,
) -> Run:
    """Add a run with its six pending steps and flush; its job is queued after the commit.

    The run survives Redis being down: it stays queued and undispatched until
    dispatch_pending() reaches Redis again.

    Args:
        used_for: the member a slot's registered container is used for, when not the
            requester (see services.run_rules).

    Raises:
        Refusal: the requester or a slot may not be used (nothing was added).
    """
    problem = unverified_problem(requester)
    if problem:
        raise Refusal(field_errors={"": [problem]})
    containers = check_slots(slots, requester, used_for)
    run = Run(
        requester_id=requester.id,
        kind=kind,
        status=RunStatus.QUEUED,
        benchmark_id=benchmark_id,
        inputs={"slots": {s: dict(slots[s]) for s in SLOTS}},
        demo_url=demo_url,
        demo_sha256=_lower(demo_sha256),
        prep_id=_id(containers[Role.DATA_PREPARATOR]),
        model_id=_id(containers[Role.MODEL]),
        evaluator_id=_id(containers[Role.EVALUATOR]),
        rerun_of_id=rerun_of.id if rerun_of else None,
    )
    run.steps = [RunStep(name=name, position=i) for i, name in enumerate(STEP_NAMES)]
    db.session.add(run)
    db.session.flush()  # its id, for the job queued after the commit
    after_commit(queue_run, run.id)
    return run


def _id(container: Container | None) -> int | None:
    return container.id if container is not None else None


def queue_run(run_id: int) -> bool:
    """Claim a committed, undispatched run and queue its job; False when another process
    claimed it first or Redis cannot be reached.

    Runs after the commit (see add_run), when the session can no longer write: the claim is a
    short transaction of its own, made before the job is queued, so housekeeping in another
    process (dispatch_pending) cannot queue the same run in between. When Redis refuses, the
    claim is given back and the run waits for housekeeping. Should the process die between the
    claim and the queueing, housekeeping finds the claimed run without a job and sends it again
    (redispatch_lost_jobs).
    """
    if not mark_dispatched(Run, run_id, RunStatus.QUEUED, claimed=True):
        return False
    try:
        timeout = job_timeout_seconds(settings())
        enqueue(JOB_FUNCTION, run_id, job_id=job_id(run_id), timeout=timeout)
        publish(redis_client(), run_id, "status", {"status": RunStatus.QUEUED.value})
    except RedisError as error:
        log.warning("run %s stays queued until Redis answers: %s", run_id, error)
        mark_dispatched(Run, run_id, RunStatus.QUEUED, claimed=False)
        return False
    return True


def dispatch_pending() -> int:
    """Queue every run that was recorded while Redis was down; return how many were sent."""
    pending = db.session.scalars(
        select(Run.id)
        .where(Run.status == RunStatus.QUEUED, Run.dispatched.is_(False))
        .order_by(Run.id)
    ).all()
    db.session.commit()  # end the reading transaction before queue_run writes in its own
    return sum(1 for run_id in pending if queue_run(run_id))


def rerun(run: Run, by: User) -> Run:
    """Start a new run with the same inputs as a finished one, checked as a new run would be;
    commit, and queue its job once committed."""
    used_for = rerun_users(run, by)
    return create_run(
        by,
        slots=run.inputs["slots"],
        demo_url=run.demo_url,
        demo_sha256=run.demo_sha256,
        kind=run.kind,
        benchmark_id=run.benchmark_id,
        rerun_of=run,
        used_for=used_for,
    )


def can_view(run: Run, user: User) -> bool:
    """Requester, administrators and the owner of the run's benchmark may see a run."""
    if not user.is_authenticated:
        return False
    if user.is_admin or run.requester_id == user.id:
        return True
    if run.benchmark_id is not None:
        benchmark = db.session.get(Benchmark, run.benchmark_id)
        return benchmark is not None and benchmark.owner_id == user.id
    return False


def can_cancel(run: Run, user: User) -> bool:
    """The requester or an administrator may cancel an unfinished run."""
    return not run.is_finished and (user.is_admin or run.requester_id == user.id)


def cancel_run(run: Run, by: User) -> None:
    """Cancel a queued run at once, or ask the worker to kill a running one; commit."""
    request_cancel(run, by)
    db.session.commit()


def request_cancel(run: Run, by: User) -> None:
    """Flag the run canceled (ending it when still queued); the worker is told after the commit.

    Raises:
        Refusal: the run has ended, or by may not cancel it (nothing was changed).
    """
    if not can_cancel(run, by):
        raise Refusal(field_errors={"run": ["This run can no longer be canceled."]})
    run.cancel_requested = True
    queued = run.status == RunStatus.QUEUED
    after_commit(_signal_cancel, run.id, queued)
    if queued:
        end_run(
            run,
            RunStatus.CANCELED,
            failure_cause="canceled",
            failure_summary=f"Canceled by {by.display_name} before it started.",
        )


def _signal_cancel(run_id: int, queued: bool) -> None:
    """Tell the worker of a committed cancel: the Redis flag, and the queued job canceled."""
    try:
        redis_client().set(cancel_key(run_id), "1", ex=24 * 3600)
        if queued:
            job = Job.fetch(
                job_id(run_id), connection=redis_client(), serializer=get_queue().serializer
            )
            job.cancel()
    except Exception as error:  # the flag in the database still stops the worker
        log.info("cancel of run %s reached the database only: %s", run_id, error)


def queue_position(run: Run) -> int | None:
    """1-based place of a queued run in its queue, or None when unknown."""
    if run.status != RunStatus.QUEUED:
        return None
    try:
        ids = get_queue().get_job_ids()
    except RedisError:
        return None
    try:
        return ids.index(job_id(run.id)) + 1
    except ValueError:
        return None


# What the worker reports, through the Reporter.


def mark_running(run_id: int, worker_name: str) -> bool:
    """Move a queued run to running; False when it was canceled (or ended) meanwhile."""
    run = db.session.get(Run, run_id)
    if run is None or run.status != RunStatus.QUEUED or run.cancel_requested:
        return False
    check_transition(RUN_TRANSITIONS, run.status, RunStatus.RUNNING)
    run.status = RunStatus.RUNNING
    run.started_at = utcnow()
    run.worker_name = worker_name[:200]
    after_commit(_announce_running, run.id)
    db.session.commit()
    return True


def _announce_running(run_id: int) -> None:
    try:
        publish(redis_client(), run_id, "status", {"status": RunStatus.RUNNING.value})
    except RedisError:
        pass  # the page learns it from the first step event instead


def update_step(run_id: int, name: str, status: StepStatus, **fields: Any) -> None:
    """Record a step's new status and any of started_at, finished_at, exit_code, message."""
    step = db.session.scalar(select(RunStep).where(RunStep.run_id == run_id, RunStep.name == name))
    step.status = status
    for key, value in fields.items():
        setattr(step, key, value)
    db.session.commit()


def cancel_requested(run_id: int) -> bool:
    """Tell whether someone asked to cancel the run (the database is the source of truth)."""
    return bool(db.session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def finish_run(run_id: int, status: RunStatus, **fields: Any) -> Run:
    """End a run with its evidence (results, statistics, hashes, digests, failure, log); commit."""
    run = db.session.get(Run, run_id)
    end_run(run, status, **fields)
    db.session.commit()
    return run


def end_run(run: Run, status: RunStatus, **fields: Any) -> None:
    """End a run and settle its outcome (no commit); the live log is told after the commit."""
    if run.status.finished:
        # Canceled or reaped meanwhile: the first ending stands, but keep the log.
        if fields.get("log_text") and not run.log_text:
            run.log_text = fields["log_text"]
        return
    check_transition(RUN_TRANSITIONS, run.status, status)
    run.status = status
    run.finished_at = utcnow()
    for key, value in fields.items():
        setattr(run, key, value)
    for step in run.steps:
        if step.status in (StepStatus.PENDING, StepStatus.RUNNING):
            step.status = (
                StepStatus.SKIPPED if step.status == StepStatus.PENDING else (StepStatus.FAILED)
            )
            step.finished_at = step.finished_at or (run.finished_at if step.started_at else None)
    if status == RunStatus.PASSED:
        _record_evidence_on_containers(run)
    run_outcomes.settle(run)
    after_commit(_announce_end, run.id, status.value, run.failure_summary or "")


def _announce_end(run_id: int, status: str, summary: str) -> None:
    try:
        redis = redis_client()
        publish(redis, run_id, "end", {"status": status, "summary": summary})
        expire_stream(redis, run_id)
    except RedisError:
        pass  # the page falls back to the stored log


def _record_evidence_on_containers(run: Run) -> None:
    """Pin digests and additional-files hashes learned by a passing run on its containers.

    A container in development follows its image: each passing test pins the digest it used,
    unless the owner gave one. An operational container keeps its pin.
    """
    for slot, spec in run.inputs["slots"].items():
        container_id = spec.get("container_id")
        if container_id is None:
            continue
        container = db.session.get(Container, container_id)
        digest = (run.digests or {}).get(slot)
        repin = not container.is_operational and not container.digest_given
        if digest and (not container.image_digest or repin):
            container.image_digest = digest
        files_hash = (run.hashes or {}).get(f"{slot}.additional_files")
        if files_hash and container.additional_files_url and not container.additional_files_sha256:
            container.additional_files_sha256 = files_hash


def get_run(run_id: int) -> Run:
    """Return the run, raising LookupError when it does not exist."""
    run = db.session.get(Run, run_id)
    if run is None:
        raise LookupError(f"no run {run_id}")
    return run
