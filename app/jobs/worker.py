"""The RQ worker that `flask worker` runs, inside the application context."""

from __future__ import annotations

import logging
import os
import socket

from flask import current_app
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from app.extensions import db
from app.services.queue import report_worker_docker
from app.services.reaper import end_lost_run, housekeeping
from app.settings import settings
from workers.docker_runner import DockerRunner
from workers.fetch import DownloadCache
from workers.safe_text import prepare

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 30  # how often a worker looks for dead runs and undispatched ones
WORKER_TTL_SECONDS = 60  # a worker silent this long is taken for dead


class BenchgateWorker(Worker):
    """An RQ worker that also reaps dead runs, and never shares DB connections with its horses."""

    def main_work_horse(self, job, queue):
        # A forked child must not reuse the parent's pooled connections (SQLAlchemy docs,
        # "Using Connection Pools with Multiprocessing"): drop them without closing.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self._report_docker()
        try:
            report = housekeeping()
            if any(report.values()):
                log.info("housekeeping: %s", report)
            self._discard_stale_downloads()
        except Exception:
            log.exception("housekeeping failed")
        finally:
            db.session.remove()

    def _report_docker(self) -> None:
        """Tell the health page whether this worker reaches its Docker engine."""
        with DockerRunner() as runner:
            reachable = runner.ping()
        if not reachable:
            log.warning("this worker cannot reach its Docker engine")
        try:
            report_worker_docker(self.name, reachable, ttl_seconds=3 * HOUSEKEEPING_SECONDS + 60)
        except Exception:
            log.warning("could not report Docker reachability", exc_info=True)

    def _discard_stale_downloads(self) -> None:
        """Remove partial downloads left in the cache by a work horse that was killed."""
        DownloadCache(settings().work_dir / "cache").discard_stale_parts()

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if job is None or not job.id.startswith("run-"):
            return
        try:
            end_lost_run(int(job.id.removeprefix("run-")))
        except Exception:
            log.exception("could not end the run of %s", job.id)
        finally:
            db.session.remove()


def run_worker(queue_names: list[str], *, burst: bool = False, name: str | None = None) -> bool:
    """Work on the named queues until stopped (or until they are empty with burst)."""
    redis = current_app.extensions["redis"]
    queues = [Queue(n, connection=redis, serializer=JSONSerializer) for n in queue_names]
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    worker = BenchgateWorker(
        queues,
        connection=redis,
        serializer=JSONSerializer,
        name=name,
        worker_ttl=WORKER_TTL_SECONDS,
        job_monitoring_interval=10,
        maintenance_interval=HOUSEKEEPING_SECONDS,
    )
    # Imported once here rather than in every forked work horse: saves each run the start-up.
    import app.jobs.tasks  # noqa: F401

    prepare()  # the log cleaner's patterns, which each work horse would build again

    _log_to_stderr()

    db.engine.dispose()
    return worker.work(burst=burst, logging_level="INFO")


def _log_to_stderr() -> None:
    """Show the portal's own INFO lines (a mail written to the log, a run's progress) too.

    RQ sets up its own logger only; without this, Python prints warnings and worse.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("app", "workers"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
