"""The longest a run's job may take, worked out from the limits the run itself is held to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONTAINER_TASKS = 5  # prepare, sanity_check, statistics, infer, evaluate
ARCHIVES = 4  # the demo dataset and each container's additional files


def bytes_moved(config: Mapping[str, Any]) -> int:
    """The most bytes a run may download, hash, unpack and hash again of its outputs.

    Every download is written once and hashed once more when the cache serves it; every
    archive may unpack up to MAX_UNPACKED_BYTES; prepared data and labels are hashed whole.
    """
    downloads = int(config["MAX_DEMO_BYTES"]) + 3 * (
        int(config["MAX_CONFIG_BYTES"])
        + int(config["MAX_PARAMETERS_BYTES"])
        + int(config["MAX_ADDITIONAL_FILES_BYTES"])
    )
    unpacked = ARCHIVES * int(config["MAX_UNPACKED_BYTES"])
    outputs = 2 * int(config["MAX_OUTPUT_BYTES"])
    return 2 * downloads + unpacked + outputs


def job_timeout_seconds(config: Mapping[str, Any]) -> int:
    """The job time limit: every container task at its limit, every byte at the slowest speed
    the operator expects, and a margin for pulls, the database and Docker's own delays.

    RQ stops a job that goes over it; the run then ends as a platform error rather than
    holding a worker for a day.
    """
    tasks = CONTAINER_TASKS * float(config["CONTAINER_TIMEOUT_SECONDS"])
    transfers = bytes_moved(config) / max(1, int(config["JOB_MIN_BYTES_PER_SECOND"]))
    return int(tasks + transfers + float(config["JOB_MARGIN_SECONDS"])) + 1
