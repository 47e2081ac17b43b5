"""Ending runs whose worker died, re-sending lost jobs, and removing leftover containers."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from app.database import installation_site
from app.extensions import db
from app.models import Run, RunStatus, utcnow
from app.services.mail import dispatch_pending_mail
from app.services.queue import get_queue, redis_client
from app.services.runs import dispatch_pending, finish_run, job_id, queue_run
from workers.run_labels import RUN_LABEL, SITE_LABEL, run_labels

log = logging.getLogger(__name__)

HEARTBEAT_GRACE = timedelta(minutes=2)
WORKER_LOST = (
    "The worker running this test stopped unexpectedly (it was killed or its machine went "
    "down). Nothing is wrong with your containers as far as Benchgate knows: run the test again."
)

JOB_CRASHED = (
    "The worker could not start this test because of an internal error. It is not your fault; "
    "an administrator can see the details in the worker's log."
)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_dead(worker: Worker | None, run: Run) -> bool:
    """Tell whether the worker that took a run can no longer be running it."""
    if worker is None:
        return True  # its registration expired: no heartbeat for a while
    if worker.hostname == socket.gethostname() and worker.pid and not _process_alive(worker.pid):
        return True
    if worker.last_heartbeat and utcnow() - worker.last_heartbeat > HEARTBEAT_GRACE:
        return True
    # The worker lives but is not on this run: its work horse died. A run that has just
    # started gets a moment, in case the worker has not yet published its current job.
    just_started = run.started_at and utcnow() - run.started_at < timedelta(seconds=5)
    return not just_started and worker.get_current_job_id() != job_id(run.id)


def reap_dead_runs() -> list[int]:
    """End as `error` every running run whose worker is gone; return their ids."""
    redis = redis_client()
    workers = {w.name: w for w in Worker.all(connection=redis, serializer=JSONSerializer)}
    reaped = []
    running = db.session.scalars(select(Run).where(Run.status == RunStatus.RUNNING)).all()
    for run in running:
        if _worker_dead(workers.get(run.worker_name or ""), run):
            log.warning("run %s: worker %s is gone; ending the run", run.id, run.worker_name)
            end_lost_run(run.id)
            reaped.append(run.id)
    return reaped


def end_lost_run(run_id: int) -> None:
    """End a running run whose worker is gone, and remove its containers from this engine."""
    run = db.session.get(Run, run_id)
    if run is None or run.status != RunStatus.RUNNING:
        return
    finish_run(run_id, RunStatus.ERROR, failure_cause="worker_lost", failure_summary=WORKER_LOST)
    try:
        from workers.docker_runner import DockerRunner  # only where Docker is

        with DockerRunner() as runner:
            runner.remove_labelled(run_labels(installation_site(current_app.config), run_id))
    except Exception as error:  # another machine's engine: its own janitor removes them
        log.info("run %s: containers not removed here: %s", run_id, error)


def redispatch_lost_jobs() -> int:
    """Send again queued runs whose job vanished from Redis; end those whose job crashed."""
    queued = db.session.scalars(
        select(Run).where(Run.status == RunStatus.QUEUED, Run.dispatched.is_(True))
    ).all()
    serializer = get_queue().serializer
    lost, crashed = [], []
    for run in queued:
        if not Job.exists(job_id(run.id), connection=redis_client()):
            run.dispatched = False  # e.g. Redis restarted without its data
            lost.append(run.id)
            continue
        job = Job.fetch(job_id(run.id), connection=redis_client(), serializer=serializer)
        if job.get_status(refresh=False) in ("failed", "stopped"):
            crashed.append(run.id)
    db.session.commit()  # a run whose queueing fails below is left for dispatch_pending
    sent = sum(1 for run_id in lost if queue_run(run_id))
    for run_id in crashed:
        # The job died before the run started: a platform fault, not the submitter's.
        finish_run(run_id, RunStatus.ERROR, failure_cause="internal", failure_summary=JOB_CRASHED)
    return sent


def remove_leftover_containers() -> int:
    """Remove labelled containers of runs that are no longer running on this Docker engine."""
    from workers.docker_runner import DockerRunner  # only where Docker is

    removed = 0
    with DockerRunner() as runner:
        site = installation_site(current_app.config)
        for container in runner.list_labelled(SITE_LABEL):
            if container["labels"].get(SITE_LABEL) != site:
                continue  # another installation's container on a shared engine
            run_id = int(container["labels"].get(RUN_LABEL, "0") or 0)
            run = db.session.get(Run, run_id)
            if run is None or run.status != RunStatus.RUNNING:
                removed += runner.remove_labelled(run_labels(site, run_id))
    return removed


def housekeeping(*, containers: bool = True) -> dict[str, int]:
    """Everything the periodic check does; each part survives the others failing."""
    report = {
        "reaped": 0,
        "dispatched": 0,
        "redispatched": 0,
        "mail_dispatched": 0,
        "containers_removed": 0,
    }
    try:
        report["reaped"] = len(reap_dead_runs())
        report["dispatched"] = dispatch_pending()
        report["redispatched"] = redispatch_lost_jobs()
        report["mail_dispatched"] = dispatch_pending_mail()
    except RedisError as error:
        log.warning("housekeeping: Redis unreachable: %s", error)
        db.session.rollback()
    if containers:
        try:
            report["containers_removed"] = remove_leftover_containers()
        except Exception as error:
            log.warning("housekeeping: could not clean Docker containers: %s", error)
    return report
