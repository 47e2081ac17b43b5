"""Run one container task on the local Docker engine, confined as SPEC §3.1 requires."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.models.images import Image
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount

from workers.docker_helpers import (
    container_user,
    explain_pull_failure,
    gpu_request,
    gpus_requested,
    parse_size,
    pick_digest,
    plain_reason,
    prepare_mounts,
)
from workers.docker_logs import LogPump, close_attached
from workers.docker_tasks import (
    DockerUnavailable,
    GpusUnavailable,
    ImageUnavailable,
    Mount,
    RunnerSettings,
    TaskNotStarted,
    TaskOutcome,
    TaskRun,
)

__all__ = [
    "DockerRunner",
    "DockerUnavailable",
    "GpusUnavailable",
    "ImageUnavailable",
    "Mount",
    "RunnerSettings",
    "TaskNotStarted",
    "TaskOutcome",
    "TaskRun",
]

log = logging.getLogger(__name__)

BASE_LABEL = "benchgate"
LAST_LINES = 40
POLL_SECONDS = 0.5
DEFAULT_SHM_BYTES = 64 * 2**20
# Once the container has stopped its log stream ends at once; this only bounds a stuck one.
LOG_GRACE_SECONDS = 10.0
# Enough for the engine to answer a wait after the kill that follows a timeout.
WAIT_MARGIN_SECONDS = 60.0

DEFAULT_SETTINGS = RunnerSettings()


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Turn "cannot talk to the engine" failures into DockerUnavailable."""
    try:
        yield
    except docker.errors.APIError:
        raise  # the engine answered; callers decide what its refusal means
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise DockerUnavailable(
            f"The Docker engine is not reachable ({plain_reason(exc)}); check that the Docker "
            "daemon is running and that DOCKER_HOST, if set, points to it."
        ) from exc


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
            with _engine_errors():
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
            with _engine_errors():
                return bool(self.client.ping())
        except (DockerUnavailable, docker.errors.APIError):
            return False

    def resolve_image(self, ref: str) -> str:
        """Make the image present per the pull policy and return its digest ("sha256:...").

        Raises:
            ImageUnavailable: missing and not pullable, or the policy forbids pulling.
            DockerUnavailable: the engine does not answer.
        """
        with _engine_errors():
            image = None if self.settings.pull_policy == "always" else self._local(ref)
            if image is None:
                image = self._pull(ref)
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
            ImageUnavailable, DockerUnavailable, GpusUnavailable, TaskNotStarted;
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
        create_args = self._create_args(task, user)
        with _engine_errors():
            # The engine would pull a missing image by itself, ignoring the policy; an
            # "always" pull already happened in resolve_image, so only a missing one is pulled.
            if self._local(task.image) is None:
                self._pull(task.image)
        prepare_mounts(task.mounts, user)
        container: Container | None = None
        stream: Any = None
        try:
            with _engine_errors():
                try:
                    # create + start rather than run(): a failed start still hands us the
                    # container, so it can be removed below.
                    container = self.client.containers.create(**create_args)
                    # Attached before the start, like `docker start -a`: the logs API in
                    # follow mode can drop a last line that has no newline.
                    stream = container.attach(stdout=True, stderr=True, stream=True, logs=False)
                    started = time.monotonic()
                    container.start()
                except docker.errors.APIError as exc:
                    raise TaskNotStarted(
                        f"The container could not start: {exc.explanation or exc}"
                    ) from exc
            pump = LogPump(
                stream,
                LAST_LINES,
                close=lambda: close_attached(stream),
                max_line_chars=self.settings.max_line_chars,
            )
            return self._follow(container, pump, started, on_line, should_cancel)
        finally:
            close_attached(stream)
            if container is not None:
                self._remove_quietly(container.id)

    def remove_labelled(self, labels: dict[str, str]) -> int:
        """Force-remove this platform's containers carrying all these labels; return how many."""
        wanted = [f"{key}={value}" for key, value in {**labels, BASE_LABEL: "1"}.items()]
        removed = 0
        with _engine_errors():
            found = self.client.containers.list(all=True, sparse=True, filters={"label": wanted})
            for container in found:
                if self._remove_quietly(container.id):
                    removed += 1
        return removed

    def list_labelled(self, label_key: str) -> list[dict[str, Any]]:
        """List this platform's containers that carry a label key, for the reaper."""
        with _engine_errors():
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

    def _local(self, ref: str) -> Image | None:
        """Return the local image, or None when this engine does not have it."""
        try:
            return self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return None

    def _pull(self, ref: str) -> Image:
        """Pull an image when the policy allows it; report the registry's reason if it fails."""
        if self.settings.pull_policy == "never":
            raise ImageUnavailable(
                f"The image {ref} is not on this worker, and this worker never pulls images "
                "(pull policy 'never'); an operator must load it first."
            )
        try:
            for message in self.client.api.pull(ref, stream=True, decode=True):
                # Errors after the pull has begun come inside the stream, not as a status.
                if "error" in message:
                    detail = message.get("errorDetail") or {}
                    raise ImageUnavailable(self._pull_failed(ref, detail.get("message")))
        except docker.errors.APIError as exc:
            raise ImageUnavailable(self._pull_failed(ref, exc.explanation)) from exc
        image = self._local(ref)
        if image is None:
            raise ImageUnavailable(self._pull_failed(ref, "the pull ended without the image"))
        return image

    @staticmethod
    def _pull_failed(ref: str, reason: object) -> str:
        """Word a failed pull for a person."""
        return f"The image {ref} could not be downloaded: {explain_pull_failure(str(reason))}."

    def _create_args(self, task: TaskRun, user: str) -> dict[str, Any]:
        """Build containers.create arguments with every confinement default applied."""
        s = self.settings
        shm = parse_size(task.shm_size) if task.shm_size else DEFAULT_SHM_BYTES
        gpu = gpu_request(task.gpus) if s.gpus_enabled else None
        return {
            "image": task.image,
            "command": task.command,
            # A single executable, as `docker run --entrypoint` takes it (no word splitting).
            "entrypoint": [task.entrypoint] if task.entrypoint else None,
            "environment": {"HOME": "/tmp", **task.environment},
            "user": user,
            "labels": {**task.labels, BASE_LABEL: "1"},
            "name": task.name,
            "detach": True,
            "mounts": [
                DockerMount(
                    target=m.container_path,
                    source=str(Path(m.host_path).resolve()),
                    type="bind",
                    read_only=m.read_only,
                )
                for m in task.mounts
            ],
            "network_disabled": s.network_disabled,
            "network_mode": "none" if s.network_disabled else None,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "init": True,
            "read_only": True,
            "tmpfs": {"/tmp": f"size={s.tmpfs_bytes},mode=1777"},
            "mem_limit": s.memory_bytes,
            "memswap_limit": s.memory_bytes,
            "nano_cpus": s.nano_cpus,
            "pids_limit": s.pids_limit,
            "shm_size": min(shm, s.shm_max_bytes),
            "device_requests": [DeviceRequest(**gpu)] if gpu else None,
        }

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
        with _engine_errors():
            container.reload()
        oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
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
        with _engine_errors():
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
        except Exception:  # the janitor removes what is left behind
            log.warning("could not remove container %s", container_id, exc_info=True)
            return False


def _wait(container: Container, timeout: float, result: dict[str, Any]) -> None:
    """Waiter thread: block until the container stops; record its status and when."""
    try:
        result.update(container.wait(timeout=timeout))
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        result["error"] = DockerUnavailable(
            f"Lost contact with the Docker engine while the task ran: {plain_reason(exc)}."
        )
    finally:
        result["at"] = time.monotonic()
