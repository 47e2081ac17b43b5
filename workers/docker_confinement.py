"""The create arguments that confine every container task, as SPEC §3.1 requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docker.types import DeviceRequest, LogConfig
from docker.types import Mount as DockerMount

from workers.docker_helpers import gpu_request, parse_size
from workers.docker_tasks import RunnerSettings, TaskRun

BASE_LABEL = "benchgate"  # on every container this platform makes
DEFAULT_SHM_BYTES = 64 * 2**20


def confined_create_args(task: TaskRun, user: str, s: RunnerSettings) -> dict[str, Any]:
    """Build containers.create arguments with every confinement default applied."""
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
        # The output is read through the attach stream and kept in Benchgate's own bounded
        # log; the engine's log file would grow without a limit on the worker's disk while a
        # container floods it, and cost the engine work for every line.
        "log_config": LogConfig(type=LogConfig.types.NONE),
    }
