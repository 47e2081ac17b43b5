"""What a container task is made of and how it ended: plain data shared by runner and pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workers.docker_helpers import parse_user
from workers.registry_policy import RegistryPolicy

PULL_POLICIES = ("if-not-present", "always", "never")


class DockerUnavailable(Exception):
    """The Docker engine could not be reached."""


class ImageUnavailable(Exception):
    """The image is not on this worker and could not (or may not) be pulled."""


class ImageRefused(ImageUnavailable):
    """The image's registry is not allowed, or the local image was not made by its registry."""


class EngineError(Exception):
    """The engine answered with an error that is not the task's doing (its text is logged only).

    `cause` is the code a run ends with.
    """

    cause = "docker_error"


class ContainerVanished(EngineError):
    """The task's container disappeared while it ran: something else on the worker removed it."""

    cause = "container_removed"


class TaskNotStarted(Exception):
    """The engine refused to create or start the container (e.g. its entrypoint is missing)."""


class GpusUnavailable(TaskNotStarted):
    """The task asks for GPUs but this worker is not configured to give any."""


@dataclass(frozen=True)
class Mount:
    """A host file or folder shown to the container: inputs read-only, outputs read-write."""

    host_path: Path
    container_path: str
    read_only: bool
    is_file: bool = False


@dataclass(frozen=True)
class RunnerSettings:
    """Operator-tunable limits applied to every container."""

    memory_bytes: int = 4 * 2**30
    nano_cpus: int = 2_000_000_000
    pids_limit: int = 512
    shm_max_bytes: int = 2 * 2**30
    tmpfs_bytes: int = 1 * 2**30
    timeout_seconds: float = 3600
    user: str | None = None
    gpus_enabled: bool = False
    network_disabled: bool = True
    pull_policy: str = "if-not-present"
    registries: RegistryPolicy = field(default_factory=RegistryPolicy)
    max_line_chars: int = 16_384  # a longer log line is cut as it is read

    def __post_init__(self) -> None:
        if self.pull_policy not in PULL_POLICIES:
            raise ValueError(f"pull policy must be one of {', '.join(PULL_POLICIES)}")
        if self.user is not None:
            parse_user(self.user)


@dataclass(frozen=True)
class TaskRun:
    """One task of one container: what to run and what it sees."""

    image: str
    command: list[str] | None
    entrypoint: str | None
    environment: dict[str, str]
    mounts: list[Mount]
    labels: dict[str, str]
    shm_size: str | None = None
    gpus: str | int | None = None
    name: str | None = None


@dataclass
class TaskOutcome:
    """How a task ended; exit_code is None only if the engine never reported one."""

    exit_code: int | None
    oom_killed: bool
    timed_out: bool
    canceled: bool
    duration: float
    last_lines: list[str] = field(default_factory=list)
