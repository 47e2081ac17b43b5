"""The Docker labels that tie a container to one run of one Benchgate installation.

Several installations (or test databases) may share a Docker engine; the site label keeps
each janitor to the containers of its own database's runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

RUN_LABEL = "benchgate.run"
SITE_LABEL = "benchgate.site"
TASK_LABEL = "benchgate.task"


def site_id(config: Mapping[str, Any]) -> str:
    """A short stable name of this installation: a hash of its database address."""
    url = str(config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL") or "")
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def run_labels(config: Mapping[str, Any], run_id: int) -> dict[str, str]:
    """Labels that select every container of one run of this installation."""
    return {SITE_LABEL: site_id(config), RUN_LABEL: str(run_id)}
