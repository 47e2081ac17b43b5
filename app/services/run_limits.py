"""The longest a run's job may take, worked out from the limits the run itself is held to."""

from __future__ import annotations

from app.settings import Settings

CONTAINER_TASKS = 5  # prepare, sanity_check, statistics, infer, evaluate
ARCHIVES = 4  # the demo dataset and each container's additional files


def bytes_moved(config: Settings) -> int:
    """The most bytes a run may download, hash, unpack and hash again of its outputs.

    Every download is written once and hashed once more when the cache serves it; every
    archive may unpack up to MAX_UNPACKED_BYTES; prepared data and labels are hashed whole.
    """
    downloads = config.max_demo_bytes + 3 * (
        config.max_config_bytes + config.max_parameters_bytes + config.max_additional_files_bytes
    )
    unpacked = ARCHIVES * config.max_unpacked_bytes
    outputs = 2 * config.max_output_bytes
    return 2 * downloads + unpacked + outputs


def job_timeout_seconds(config: Settings) -> int:
    """The job time limit: every container task at its limit, every byte at the slowest speed
    the operator expects, and a margin for pulls, the database and Docker's own delays.

    RQ stops a job that goes over it; the run then ends as a platform error rather than
    holding a worker for a day.
    """
    tasks = CONTAINER_TASKS * config.container_timeout_seconds
    transfers = bytes_moved(config) / max(1, config.job_min_bytes_per_second)
    return int(tasks + transfers + config.job_margin_seconds) + 1
