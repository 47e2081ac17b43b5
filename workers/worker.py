"""The RQ worker that `flask worker` runs, inside the application context."""

from __future__ import annotations

import logging
import os
import socket

from flask import current_app
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from app.extensions import db

log = logging.getLogger(__name__)


class BenchgateWorker(Worker):
    """An RQ worker whose work horses never share database connections with the parent."""

    def main_work_horse(self, job, queue):
        # A forked child must not reuse the parent's pooled connections (SQLAlchemy docs,
        # "Using Connection Pools with Multiprocessing"): drop them without closing.
        db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def run_worker(queue_names: list[str], *, burst: bool = False, name: str | None = None) -> bool:
    """Work on the named queues until stopped (or until they are empty with burst)."""
    redis = current_app.extensions["redis"]
    queues = [Queue(n, connection=redis, serializer=JSONSerializer) for n in queue_names]
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    worker = BenchgateWorker(queues, connection=redis, serializer=JSONSerializer, name=name)
    db.engine.dispose()
    return worker.work(burst=burst, logging_level="INFO")
