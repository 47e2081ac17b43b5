"""RQ entry points: functions on record ids, queued by dotted path (`app.jobs.tasks.<name>`)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from rq import get_current_job
from rq.timeouts import JobTimeoutException

from app.database import installation_site
from app.extensions import db
from app.jobs.context import app_context
from app.jobs.reporting import run_reporter
from app.jobs.run_spec import pipeline_settings, spec_from_run
from app.models import RunStatus
from app.services import runs
from app.services.mail import deliver
from app.services.queue_checks import answer_queue_check as answer
from app.settings import settings as app_settings
from workers.docker_runner import DockerRunner, DockerUnavailable, EngineError
from workers.errors import PlatformError, RunCanceled, StepFailed
from workers.fetch import DownloadCache
from workers.log_lines import PLATFORM, format_line
from workers.outputs import remove_tree
from workers.pipeline import run_pipeline
from workers.run_labels import SITE_LABEL, run_labels
from workers.steps import Workspace

log = logging.getLogger(__name__)


def _worker_name() -> str:
    job = get_current_job()
    return (job.worker_name if job else None) or socket.gethostname()


def answer_queue_check(check_id: int) -> None:
    """Record that a worker took this queue check from Redis."""
    with app_context():
        answer(check_id, _worker_name())


def run_compatibility_test(run_id: int) -> str:
    """Run the six steps of a queued run and record how it ended; return the final status."""
    with app_context() as app:
        if not runs.mark_running(run_id, _worker_name()):
            log.info("run %s is no longer queued; nothing to do", run_id)
            return "skipped"
        run = runs.get_run(run_id)
        spec = spec_from_run(run)
        portal = app_settings(app)
        settings = pipeline_settings(portal, installation_site(app.config))
        work_dir = portal.work_dir
        ws = Workspace(work_dir / "runs" / f"run-{run_id}")
        ws.root.mkdir(parents=True, exist_ok=True)
        report = run_reporter(
            run_id,
            app.extensions["redis"],
            ws.root.parent / f"run-{run_id}.log",
            settings.log_limits,
        )
        runner = DockerRunner(settings.runner)
        evidence: dict[str, Any] = {}
        status, fields = RunStatus.ERROR, {}
        try:
            result = run_pipeline(
                spec, report, runner, ws, DownloadCache(work_dir / "cache"), settings, evidence
            )
            status = RunStatus.PASSED
            fields = {
                "results": result.results,
                "statistics": result.statistics,
                "prepared_data_uid": result.prepared_data_uid,
                "hashes": result.hashes,
                "digests": result.digests,
            }
        except RunCanceled as failure:
            status, fields = RunStatus.CANCELED, _failure(failure, evidence)
        except StepFailed as failure:
            status, fields = RunStatus.FAILED, _failure(failure, evidence)
        except PlatformError as error:
            status = RunStatus.ERROR
            fields = _platform_failure(error.cause, error.message, evidence)
        except (DockerUnavailable, EngineError) as error:
            # The pipeline names these in each step; this only keeps a slip from reading
            # as an internal error.
            log.warning("run %s: a Docker failure reached the job: %s", run_id, error)
            cause = getattr(error, "cause", "docker_unreachable")
            status, fields = RunStatus.ERROR, _platform_failure(cause, str(error), evidence)
        except JobTimeoutException:
            log.warning("run %s: over its job time limit", run_id)
            status = RunStatus.ERROR
            fields = _platform_failure(
                "job_time_limit",
                "This test went over the time limit of its whole job "
                f"({_job_limit()}) and was stopped: downloads, unpacking or hashing were "
                "slower than this worker allows for. Try again later, or ask an administrator.",
                evidence,
            )
        except Exception:
            log.exception("run %s: internal error", run_id)
            status = RunStatus.ERROR
            fields = {
                **_evidence(evidence),
                "failure_cause": "internal",
                "failure_summary": "Benchgate hit an internal error while running this "
                "test. It is not your fault; an administrator can see the details in "
                "the worker's log.",
            }
        finally:
            log_text = report.close()
        labels = run_labels(settings.labels[SITE_LABEL], run_id)
        folder = None if portal.keep_work_dirs else ws.root
        if status != RunStatus.PASSED:  # a container may still run: it goes before the ending
            _clean_up(run_id, runner, labels, folder, report.log_path)
            _finish(run_id, status, log_text, fields)
            return status.value
        # Every step passed: its container ended and was removed with it. The person following
        # the run hears of its end (recorded, `end` sent) without waiting for the sweep.
        try:
            _finish(run_id, status, log_text, fields)
        finally:
            _clean_up(run_id, runner, labels, folder, report.log_path)
        return status.value


def _clean_up(
    run_id: int, runner: DockerRunner, labels: dict[str, str], root: Path | None, log_path: str
) -> None:
    """Remove the run's containers, close the runner; remove its folder and log unless None."""
    try:
        runner.remove_labelled(labels)
    except Exception:  # the reaper removes leftovers later
        log.warning("run %s: could not remove its containers", run_id, exc_info=True)
    runner.close()
    if root is None:
        return
    if not remove_tree(root):
        log.warning("run %s: its folder %s could not be removed", run_id, root)
    Path(log_path).unlink(missing_ok=True)


def _job_limit() -> str:
    job = get_current_job()
    minutes = round((job.timeout or 0) / 60) if job else 0
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _finish(run_id: int, status: Any, log_text: str, fields: dict[str, Any]) -> None:
    """Record how the run ended; should that fail, record it without the log, then barer still.

    Whatever the containers printed, the run's status must be stored: a run left "running"
    would be reaped later as a worker that stopped unexpectedly, its evidence lost.
    """
    without_log = format_line("run", PLATFORM, "The log of this run could not be stored.")
    kept = {k: fields[k] for k in ("hashes", "digests", "failure_cause") if k in fields}
    attempts = (
        {"log_text": log_text, **fields},
        {**fields, "log_text": without_log},
        {
            **kept,
            "log_text": without_log,
            "failure_summary": fields.get("failure_summary")
            or "The results of this run could not be stored.",
        },
    )
    for number, attempt in enumerate(attempts, start=1):
        try:
            runs.finish_run(run_id, status, **attempt)
            return
        except Exception:
            log.exception("run %s: could not record its ending (attempt %d)", run_id, number)
            db.session.rollback()
    raise RuntimeError(f"run {run_id}: its ending could not be recorded")


def _evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    keys = ("hashes", "digests", "prepared_data_uid", "statistics")
    return {k: evidence[k] for k in keys if k in evidence}


def _platform_failure(cause: str, message: str, evidence: dict[str, Any]) -> dict[str, Any]:
    return {**_evidence(evidence), "failure_cause": cause, "failure_summary": message}


def _failure(failure: Any, evidence: dict[str, Any]) -> dict[str, Any]:
    return {
        **_evidence(evidence),
        "failure_cause": failure.cause,
        "failure_summary": failure.message,
        "failure_log_tail": "\n".join(failure.log_tail[-40:]),
    }


def send_mail(mail_id: int) -> str:
    """Send one outgoing message; RQ retries the job with backoff when the server fails."""
    with app_context():
        return deliver(mail_id)
