"""The Docker labels that tie a container to one run of one Benchgate installation.

Several installations (or test databases) may share a Docker engine; the site label keeps
each janitor to the containers of its own database's runs.
"""

from __future__ import annotations

import hashlib

RUN_LABEL = "benchgate.run"
SITE_LABEL = "benchgate.site"
TASK_LABEL = "benchgate.task"


def site_id(database_url: str) -> str:
    """A short stable name of an installation: a hash of its database address."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:16]


def run_labels(site: str, run_id: int) -> dict[str, str]:
    """Labels that select every container of one run of the installation `site`."""
    return {SITE_LABEL: site, RUN_LABEL: str(run_id)}
