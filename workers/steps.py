"""Mechanics of the container steps: where each volume lives on the host, how a task's outcome
becomes a pass or a plain-words failure, and what its outputs must contain. No Flask, no DB."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.container_config import ContainerConfig, TaskSpec
from workers.docker_tasks import Mount, TaskOutcome, TaskRun
from workers.errors import RunCanceled, StepFailed
from workers.outputs import (
    OutputLimits,
    check_output,
    copy_output,
    hash_output,
    human_size,
    read_output_file,
)
from workers.roles import Role
from workers.yamlsafe import YamlError, load_mapping

MAX_OUTPUT_YAML_BYTES = 16 << 20
MAX_STORED_VALUES_BYTES = 32 << 20  # results or statistics as JSON in the database


@dataclass(frozen=True)
class Workspace:
    """The run's folder and the fixed places of everything inside it."""

    root: Path

    @property
    def demo(self) -> Path:
        return self.root / "demo"

    @property
    def prepared_data(self) -> Path:
        return self.root / "prepared" / "data"

    @property
    def prepared_labels(self) -> Path:
        return self.root / "prepared" / "labels"

    @property
    def metadata(self) -> Path:
        return self.root / "prepared" / "metadata"

    @property
    def report_file(self) -> Path:
        return self.root / "prepared" / "report.yaml"

    @property
    def statistics_file(self) -> Path:
        return self.root / "statistics.yaml"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions"

    @property
    def results_file(self) -> Path:
        return self.root / "results.yaml"

    @property
    def evaluator_outputs(self) -> Path:
        return self.root / "evaluator_outputs"

    def slot_dir(self, slot: str) -> Path:
        return self.root / "inputs" / slot

    def parameters_file(self, slot: str) -> Path:
        return self.slot_dir(slot) / "parameters.yaml"

    def additional_files(self, slot: str) -> Path:
        return self.slot_dir(slot) / "additional_files"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"


def host_paths(ws: Workspace, task: str, slot: str, raw_data: Path, raw_labels: Path) -> dict:
    """Map each volume name a task may declare to its place on the host (SPEC §2.1's table)."""
    prepared = {
        "data_path": ws.prepared_data,
        "labels_path": ws.prepared_labels,
        "metadata_path": ws.metadata,
    }
    paths: dict[str, Path] = {
        "prepare": {
            "data_path": raw_data,
            "labels_path": raw_labels,
            "output_path": ws.prepared_data,
            "output_labels_path": ws.prepared_labels,
            "metadata_path": ws.metadata,
            "report_file": ws.report_file,
        },
        "sanity_check": prepared,
        "statistics": {**prepared, "output_path": ws.statistics_file},
        "infer": {"data_path": ws.prepared_data, "output_path": ws.predictions},
        "evaluate": {
            "predictions": ws.predictions,
            "labels": ws.prepared_labels,
            "output_path": ws.results_file,
            "local_outputs_path": ws.evaluator_outputs,
        },
    }[task]
    return {
        **paths,
        "parameters_file": ws.parameters_file(slot),
        "additional_files": ws.additional_files(slot),
    }


def build_task(
    config: ContainerConfig,
    task_name: str,
    slot: str,
    paths: dict[str, Path],
    labels: dict[str, str],
) -> TaskRun:
    """Describe the container run of one task, creating the host side of every mount."""
    task = require_task(config, task_name, slot)
    mounts: list[Mount] = []
    for name, volume in task.inputs.items():
        host = paths[name]
        is_file = volume.type == "file"
        if not host.exists():  # optional inputs nobody produced are shown empty
            _create(host, is_file)
        mounts.append(Mount(host, volume.mount_path, read_only=True, is_file=is_file))
    for name, volume in task.outputs.items():
        host = paths[name]
        is_file = volume.type == "file"
        _create(host, is_file)  # a file output must exist first, else Docker makes a folder
        mounts.append(Mount(host, volume.mount_path, read_only=False, is_file=is_file))
    return TaskRun(
        image=config.image,
        command=task.command,
        entrypoint=task.entrypoint,
        environment=dict(task.environment),
        mounts=mounts,
        labels=labels,
        shm_size=task.shm_size,
        gpus=task.gpus,
    )


def require_task(config: ContainerConfig, task_name: str, slot: str) -> TaskSpec:
    """Return the task, or fail the step when the container does not offer it."""
    if task_name not in config.tasks:
        raise StepFailed(
            f"The {Role(slot).noun} has no '{task_name}' task in its configuration.", "bad_config"
        )
    return config.tasks[task_name]


def _create(path: Path, is_file: bool) -> None:
    if is_file:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    else:
        path.mkdir(parents=True, exist_ok=True)


def check_outcome(
    outcome: TaskOutcome, task_name: str, slot: str, memory_bytes: int, timeout_seconds: float
) -> None:
    """Turn a container's ending into a pass, or a StepFailed naming the cause."""
    who = f"The {Role(slot).noun}'s {task_name} task"
    tail = list(outcome.last_lines)
    if outcome.canceled:
        raise RunCanceled(
            f"The run was canceled during {task_name}; its container was stopped.", log_tail=tail
        )
    if outcome.timed_out:
        raise StepFailed(
            f"{who} went over its time limit of {_duration(timeout_seconds)} and was stopped.",
            "time_limit",
            log_tail=tail,
        )
    if outcome.oom_killed:
        raise StepFailed(
            f"{who} ran out of memory (limit {memory_bytes // 2**20} MiB) and was stopped.",
            "out_of_memory",
            exit_code=outcome.exit_code,
            log_tail=tail,
        )
    if outcome.exit_code != 0:
        raise StepFailed(
            f"{who} exited with code {outcome.exit_code}.",
            "exit_code",
            exit_code=outcome.exit_code,
            log_tail=tail,
        )


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def require_folder_output(
    folder: Path, what: str, task_name: str, slot: str, limits: OutputLimits
) -> None:
    """Check a task's output folder (regular files and folders only); fail if it holds no file."""
    if check_output(folder, what, limits) == 0:
        raise StepFailed(f"The {Role(slot).noun}'s {task_name} task wrote no {what}.", "no_output")


def read_yaml_output(path: Path, what: str, task_name: str, slot: str) -> dict[str, Any]:
    """Read a task's YAML output file, which must be a non-empty mapping."""
    who = f"The {Role(slot).noun}'s {task_name} task"
    content = read_output_file(path, what, MAX_OUTPUT_YAML_BYTES)
    if not content:
        raise StepFailed(f"{who} wrote no {what} (its output file is empty).", "no_output")
    try:
        data = load_mapping(content, what=f"the {what} file", max_bytes=MAX_OUTPUT_YAML_BYTES)
    except YamlError as error:
        raise StepFailed(f"{who} wrote {what} that cannot be read: {error}", "bad_output") from None
    if not data:
        raise StepFailed(f"{who} wrote an empty {what} mapping.", "no_output")
    data = readable_numbers(data)
    # JSON can weigh more than the YAML it came from (quotes, escaped non-ASCII characters);
    # this bounds what the database holds for each of the run, benchmark and join request.
    stored = len(json.dumps(data))
    if stored > MAX_STORED_VALUES_BYTES:
        raise StepFailed(
            f"{who} wrote {what} that would take {human_size(stored)} once stored, more "
            f"than the {human_size(MAX_STORED_VALUES_BYTES)} Benchgate keeps.",
            "output_too_large",
        )
    return data


def readable_numbers(value: Any) -> Any:
    """Replace NaN and infinities, which JSON cannot hold, by readable strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): readable_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [readable_numbers(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # dates and other YAML scalars


def prepared_data_uid(folders: dict[str, Path], limits: OutputLimits) -> str:
    """SHA-256 over the sorted hex SHA-256s of every file under the folders (MedPerf's rule).

    `folders` maps the words naming each folder in a failure ("prepared data") to its path.
    """
    hashes = []
    for what, folder in folders.items():
        hashes.extend(hash_output(folder, what, limits))
    digest = hashlib.sha256()
    for value in sorted(hashes):
        digest.update(value.encode("ascii"))
    return digest.hexdigest()


def copy_tree_into(source: Path, target: Path, what: str, limits: OutputLimits) -> None:
    """Copy a folder's regular files into another (used to seed prepared metadata)."""
    copy_output(source, target, what, limits)
