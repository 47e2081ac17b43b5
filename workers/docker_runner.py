"""Run one container task on the local Docker engine, confined as SPEC §3.1 requires."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from workers.docker_confinement import BASE_LABEL, confined_create_args
from workers.docker_errors import GONE_STATES, VANISHED, container_errors, engine_errors
from workers.docker_helpers import (
    container_user,
    gpus_requested,
    pick_digest,
    plain_reason,
    prepare_mounts,
)
from workers.docker_images import Images
from workers.docker_logs import AttachedOutput, LogPump
from workers.docker_tasks import (
    ContainerVanished,
    DockerUnavailable,
    EngineError,
    GpusUnavailable,
    ImageRefused,
    ImageUnavailable,
    Mount,
    RunnerSettings,
    TaskNotStarted,
    TaskOutcome,
    TaskRun,
)

__all__ = [
    "ContainerVanished",
    "DockerRunner",
    "DockerUnavailable",
    "EngineError",
    "GpusUnavailable",
    "ImageRefused",
    "ImageUnavailable",
    "Mount",
    "RunnerSettings",
    "TaskNotStarted",
    "TaskOutcome",
    "TaskRun",
]

log = logging.getLogger(__name__)

LAST_LINES = 40
POLL_SECONDS = 0.5
# Once the container has stopped its log stream ends at once; this only bounds a stuck one.
LOG_GRACE_SECONDS = 10.0
# Enough for the engine to answer a wait after the kill that follows a timeout.
WAIT_MARGIN_SECONDS = 60.0

DEFAULT_SETTINGS = RunnerSettings()


class DockerRunner:
    """The one implementation of running tasks, on the Docker SDK."""

    def __init__(
        self,
        settings: RunnerSettings = DEFAULT_SETTINGS,
        client: docker.DockerClient | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client, made from the environment (DOCKER_HOST...) on first use."""
        if self._client is None:
            with engine_errors():
                self._client = docker.from_env()
        return self._client

    def close(self) -> None:
        """Close the client if this runner made it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> DockerRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def ping(self) -> bool:
        """Tell whether the engine answers."""
        try:
            with engine_errors():
                return bool(self.client.ping())
        except (DockerUnavailable, docker.errors.APIError):
            return False

    @property
    def images(self) -> Images:
        """The engine's images as the registry and pull policies let tasks use them."""
        return Images(self.client, self.settings)

    def resolve_image(self, ref: str) -> str:
        """Make the image present per the policies and return its digest ("sha256:...").

        Raises:
            ImageRefused: its registry is not allowed, or a local image did not come from it.
            ImageUnavailable: missing and not pullable, or the policy forbids pulling.
            DockerUnavailable, EngineError: the engine does not answer, or fails.
        """
        with engine_errors("find the image"):
            pull_first = self.settings.pull_policy == "always"
            image = self.images.present(ref, pull_first=pull_first)
            return pick_digest(ref, image.attrs.get("RepoDigests") or [], image.id)

    def run_task(
        self,
        task: TaskRun,
        on_line: Callable[[str], None],
        should_cancel: Callable[[], bool] = lambda: False,
    ) -> TaskOutcome:
        """Run a task to its end, feeding each log line to on_line as it arrives.

        The container is always removed afterwards, whatever happens here.

        Raises:
            ImageRefused, ImageUnavailable, GpusUnavailable, TaskNotStarted (the task's);
            DockerUnavailable, EngineError, ContainerVanished (the platform's);
            FileNotFoundError for a missing input and ValueError for a bad shm_size or
            gpus (both before any container exists).
        """
        if gpus_requested(task.gpus) and not self.settings.gpus_enabled:
            # Running without them would fail later and more obscurely, or very slowly.
            raise GpusUnavailable(
                f"This task asks for GPUs (gpus: {task.gpus}) but this worker has none; "
                "it needs a worker configured for GPUs."
            )
        user = container_user(self.settings.user)
        create_args = confined_create_args(task, user, self.settings)
        with engine_errors("find the image"):
            # The engine would pull a missing image by itself, ignoring both policies; an
            # "always" pull already happened in resolve_image, so only a missing one is pulled.
            # The container is made from the checked image's id, so a tag moved meanwhile
            # changes nothing.
            create_args["image"] = self.images.present(task.image).id
        prepare_mounts(task.mounts, user)
        container: Container | None = None
        stream: AttachedOutput | None = None
        try:
            # create + start rather than run(): a failed start still hands us the
            # container, so it can be removed below.
            container = self._create(create_args)
            with container_errors("attach to the container"):
                # Attached before the start, like `docker start -a`: the logs API in
                # follow mode can drop a last line that has no newline.
                stream = AttachedOutput(
                    self.client.api.attach_socket(
                        container.id, params={"stdout": 1, "stderr": 1, "stream": 1}
                    )
                )
            started = time.monotonic()
            self._start(container)
            pump = LogPump(stream, LAST_LINES, max_line_chars=self.settings.max_line_chars)
            return self._follow(container, pump, started, on_line, should_cancel)
        finally:
            if stream is not None:
                stream.close()
            if container is not None:
                self._remove_quietly(container.id)

    def remove_labelled(self, labels: dict[str, str]) -> int:
        """Force-remove this platform's containers carrying all these labels; return how many."""
        wanted = [f"{key}={value}" for key, value in {**labels, BASE_LABEL: "1"}.items()]
        removed = 0
        with engine_errors():
            found = self.client.containers.list(all=True, sparse=True, filters={"label": wanted})
            for container in found:
                if self._remove_quietly(container.id):
                    removed += 1
        return removed

    def list_labelled(self, label_key: str) -> list[dict[str, Any]]:
        """List this platform's containers that carry a label key, for the reaper."""
        with engine_errors():
            found = self.client.containers.list(
                all=True, sparse=True, filters={"label": [label_key, f"{BASE_LABEL}=1"]}
            )
        return [
            {
                "id": c.id,
                "labels": dict(c.attrs.get("Labels") or {}),
                "status": c.attrs.get("State"),
                "created": c.attrs.get("Created"),
            }
            for c in found
        ]

    # -- internals ---------------------------------------------------------------------

    def _create(self, create_args: dict[str, Any]) -> Container:
        """Create the container; the engine refusing the task's own settings is the task's."""
        with engine_errors("create the container"):
            try:
                return self.client.containers.create(**create_args)
            except docker.errors.APIError as exc:
                if exc.status_code != 400:  # 404 image removed meanwhile, 409 name taken...
                    raise
                log.warning("the engine refused to create a container: %s", exc)
                raise TaskNotStarted(
                    "The container could not be created: the Docker engine refused its "
                    f"settings ({exc.explanation or exc})."
                ) from None

    @staticmethod
    def _start(container: Container) -> None:
        """Start the container; a start the runtime refuses is the task's (its entrypoint...)."""
        with container_errors("start the container"):
            try:
                container.start()
            except docker.errors.APIError as exc:
                if exc.status_code == 404:
                    raise
                log.warning("container %s did not start: %s", container.id, exc)
                raise TaskNotStarted(
                    f"The container could not start: {exc.explanation or exc}"
                ) from None

    def _follow(
        self,
        container: Container,
        pump: LogPump,
        started: float,
        on_line: Callable[[str], None],
        should_cancel: Callable[[], bool],
    ) -> TaskOutcome:
        """Deliver output lines, enforce the clock and cancel, then report how it ended."""
        waited: dict[str, Any] = {}
        waiter = threading.Thread(
            target=_wait,
            args=(container, self.settings.timeout_seconds + WAIT_MARGIN_SECONDS, waited),
            name="container-wait",
            daemon=True,
        )
        pump.start()
        waiter.start()
        deadline = started + self.settings.timeout_seconds
        timed_out = canceled = False
        try:
            while True:
                pump.deliver(on_line, POLL_SECONDS)
                if waiter.is_alive():
                    if not (timed_out or canceled):
                        canceled = bool(should_cancel())
                        timed_out = not canceled and time.monotonic() >= deadline
                        if canceled or timed_out:
                            self._kill(container)
                    if pump.finished:
                        # Its output is over: wait for the container itself, without spinning.
                        waiter.join(POLL_SECONDS)
                    continue
                if pump.finished:
                    break
                if time.monotonic() - waited["at"] > LOG_GRACE_SECONDS:
                    log.warning("log stream of %s did not end; dropping the rest", container.id)
                    break
        finally:
            pump.close()
        if "error" in waited:
            raise waited["error"]
        exit_code = waited.get("StatusCode")
        with container_errors("read how the container ended"):
            container.reload()
        state = container.attrs.get("State") or {}
        if state.get("Status") in GONE_STATES:
            raise ContainerVanished(VANISHED)
        oom = bool(state.get("OOMKilled"))
        return TaskOutcome(
            exit_code=exit_code,
            # The kernel may kill one process of many; it only matters if the task failed.
            oom_killed=oom and exit_code != 0 and not (timed_out or canceled),
            timed_out=timed_out,
            canceled=canceled,
            duration=waited["at"] - started,
            last_lines=list(pump.last_lines),
        )

    @staticmethod
    def _kill(container: Container) -> None:
        """Kill a running container; one that already stopped needs nothing."""
        with container_errors("stop the container"):
            try:
                container.kill()
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: it is not running any more
                    raise

    def _remove_quietly(self, container_id: str) -> bool:
        """Force-remove a container; never let a failure here hide the real outcome."""
        try:
            self.client.api.remove_container(container_id, force=True)
            return True
        except docker.errors.NotFound:
            return False
        except Exception as exc:  # the janitor removes what is left behind
            if getattr(exc, "status_code", None) != 409:  # 409: being removed elsewhere
                log.warning("could not remove container %s", container_id, exc_info=True)
            return False


def _wait(container: Container, timeout: float, result: dict[str, Any]) -> None:
    """Waiter thread: block until the container stops; record its status and when."""
    try:
        with container_errors("wait for the container"):
            result.update(container.wait(timeout=timeout))
    except (ContainerVanished, EngineError) as exc:
        result["error"] = exc
    except DockerUnavailable as exc:
        result["error"] = DockerUnavailable(
            "Lost contact with the Docker engine while the task ran: "
            f"{plain_reason(exc.__cause__ or exc)}."
        )
    finally:
        result["at"] = time.monotonic()
