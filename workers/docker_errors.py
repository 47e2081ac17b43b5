"""How the Docker runner names what the engine answers: unreachable, failed, or container gone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
import requests

from workers.docker_helpers import plain_reason
from workers.docker_tasks import ContainerVanished, DockerUnavailable, EngineError

log = logging.getLogger(__name__)

# A container the engine reports in one of these states is being (or was) removed.
GONE_STATES = ("removing", "dead")


@contextmanager
def engine_errors(doing: str = "do its part") -> Iterator[None]:
    """Name every engine failure: DockerUnavailable when it does not answer, else EngineError.

    Refusals a caller gives a meaning to (a missing image, a vanished container) are caught
    closer to the call; whatever the engine answers besides ends here, its text logged only.
    """
    try:
        yield
    except docker.errors.APIError as exc:
        log.warning("the Docker engine could not %s: %s", doing, exc)
        status = exc.status_code
        raise EngineError(f"The Docker engine could not {doing} (status {status}).") from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise DockerUnavailable(
            f"The Docker engine is not reachable ({plain_reason(exc)}); check that the Docker "
            "daemon is running and that DOCKER_HOST, if set, points to it."
        ) from exc


@contextmanager
def container_errors(doing: str) -> Iterator[None]:
    """Like engine_errors, and a container the engine no longer knows has vanished."""
    with engine_errors(doing):
        try:
            yield
        except docker.errors.NotFound as exc:
            log.warning("the task's container vanished (%s): %s", doing, exc)
            raise ContainerVanished(VANISHED) from exc


VANISHED = (
    "The task's container was removed by something else on the worker while it ran; "
    "the task itself is not at fault."
)
