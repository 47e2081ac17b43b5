"""The MedPerf container configuration file: parsing and every registration check of SPEC §2.1.

Decisions worth knowing:

* Keys: the top level may hold only ``container_type``, ``image`` and ``tasks`` (all MedPerf
  writes); a task only ``run_args``, ``input_volumes`` and ``output_volumes``; a volume only
  ``mount_path`` and ``type``. Anything else is refused with its path, so a typo such as
  ``input_volume`` is reported instead of silently ignored.
* An empty task or section (``infer:`` with nothing under it) counts as empty, not as an error.
* Every volume's ``type`` is fixed by the table of SPEC §2.1 (files: ``parameters_file``,
  ``report_file``, and ``output_path`` of statistics and evaluate; folders: all others).
* Mount paths are compared after normalisation (``/data/../proc`` is ``/proc``). Only
  identical paths within a task are refused; nested ones are allowed, as MedPerf allows them.
  ``/tmp`` itself is refused because the worker mounts its own temporary space there.
* ``entrypoint`` is one executable, as with ``docker run --entrypoint``; ``command`` is split
  like a shell would. ``gpus`` is normalised to "all", a count, "device=..." or None.
* Volume rules live in ``workers.container_volumes``, run_args in ``workers.container_run_args``
  and Docker's syntax in ``workers.docker_syntax``; this module re-exports what callers need.
* The checks are plain code rather than a schema library: the volume-name rules depend on the
  task, every check must run even when its neighbours fail, and every message is written for
  people who do not read YAML for a living.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.container_run_args import RunArgs, check_run_args
from workers.container_volumes import (
    COMMON_INPUTS,
    FILE_OUTPUTS,
    TASK_VOLUMES,
    Volume,
    check_distinct_paths,
    check_volumes,
    expected_volume_type,
    normalize_mount_path,
)
from workers.docker_syntax import (
    image_reference_problem,
    is_valid_digest,
    is_valid_image_reference,
)
from workers.roles import Role
from workers.yamlsafe import YamlError, load_mapping

__all__ = [
    "COMMON_INPUTS",
    "FILE_OUTPUTS",
    "TASK_VOLUMES",
    "ConfigError",
    "ContainerConfig",
    "Role",
    "TaskSpec",
    "Volume",
    "YamlError",
    "expected_volume_type",
    "is_valid_digest",
    "is_valid_image_reference",
    "normalize_mount_path",
    "parse_container_config",
    "parse_parameters",
]


# A container's role is the exact set of tasks it declares; nothing partial or mixed.
ROLE_TASKS: dict[Role, frozenset[str]] = {role: role.tasks for role in Role}

TASK_ORDER = ("prepare", "sanity_check", "statistics", "infer", "evaluate")
_TOP_LEVEL_KEYS = ("container_type", "image", "tasks")
_TASK_KEYS = ("run_args", "input_volumes", "output_volumes")


class ConfigError(Exception):
    """A container configuration that breaks the rules; ``problems`` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"the configuration file has {count} {noun}:\n{lines}")


@dataclass(frozen=True)
class TaskSpec:
    """One task of a container: its mounts and how to start it."""

    name: str
    inputs: dict[str, Volume]
    outputs: dict[str, Volume]
    command: list[str] | None
    entrypoint: str | None
    environment: dict[str, str]
    shm_size: str | None
    gpus: str | int | None


@dataclass(frozen=True)
class ContainerConfig:
    """A validated container configuration; ``raw`` is the mapping as loaded from YAML."""

    image: str
    tasks: dict[str, TaskSpec]
    role: Role
    raw: dict

    def needs_parameters(self) -> bool:
        """Tell whether any task mounts a parameters file, which must then be supplied."""
        return any("parameters_file" in task.inputs for task in self.tasks.values())


def parse_container_config(text: bytes | str, *, max_bytes: int = 1 << 20) -> ContainerConfig:
    """Parse and check a container configuration file.

    Raises:
        YamlError: the file is not a safe YAML mapping.
        ConfigError: it breaks SPEC §2.1; ``problems`` holds every problem with its path.
    """
    data = load_mapping(text, what="the configuration file", max_bytes=max_bytes)
    problems: list[str] = []
    image = _check_top_level(data, problems)
    tasks: dict[str, TaskSpec] = {}
    raw_tasks = data.get("tasks")
    if isinstance(raw_tasks, dict):
        for name, body in raw_tasks.items():
            if name in TASK_VOLUMES:
                spec = _check_task(name, body, problems)
                if spec is not None:
                    tasks[name] = spec
            else:
                problems.append(
                    f"tasks.{name}: unknown task '{name}'; the tasks are prepare, sanity_check "
                    "and statistics (data preparator), infer (model) and evaluate (evaluator)"
                )
        role = _role(raw_tasks, problems)
    else:
        role = None
    if problems or image is None or role is None:
        # image and role are only missing when a problem says why, but never trust that blindly.
        raise ConfigError(problems or ["the configuration file does not describe a container"])
    ordered = {name: tasks[name] for name in TASK_ORDER if name in tasks}
    return ContainerConfig(image=image, tasks=ordered, role=role, raw=data)


def parse_parameters(text: bytes | str, *, max_bytes: int = 1 << 20) -> dict:
    """Parse a parameters file: any YAML mapping; an empty file means {}.

    Raises:
        YamlError: the file is not a safe YAML mapping.
    """
    return load_mapping(text, what="the parameters file", max_bytes=max_bytes, allow_empty=True)


def _check_top_level(data: dict, problems: list[str]) -> str | None:
    """Check container_type, image and tasks; return the image when it is valid."""
    if "container_type" not in data and ("docker" in data or "singularity" in data):
        problems.append(
            "this looks like an MLCube file (mlcube.yaml); give the container_config.yaml "
            "format instead, with container_type, image and tasks"
        )
        return None
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            problems.append(
                f"{key}: unknown setting '{key}'; the file may contain only container_type, "
                "image and tasks"
            )
    container_type = data.get("container_type")
    if container_type is None:
        problems.append("container_type: is required; write container_type: DockerImage")
    elif container_type != "DockerImage":
        problems.append(
            f"container_type: must be DockerImage, not '{container_type}'; "
            "this portal runs Docker images only"
        )
    image = data.get("image")
    if image is None:
        problems.append("image: is required; give the Docker image, such as example/prep:1.0")
    elif not isinstance(image, str):
        problems.append("image: must be text such as example/prep:1.0")
        image = None
    else:
        problem = image_reference_problem(image)
        if problem is not None:
            problems.append(f"image: '{image}' {problem}")
            image = None
    tasks = data.get("tasks")
    if tasks is None:
        problems.append("tasks: is required; list the container's tasks, such as infer")
    elif not isinstance(tasks, dict):
        problems.append("tasks: must be a mapping of task names (such as infer) to their settings")
    elif not tasks:
        problems.append("tasks: is empty; list the container's tasks, such as infer")
    return image


def _role(raw_tasks: dict, problems: list[str]) -> Role | None:
    """Return the role the known task names add up to, or report why they fit none."""
    names = {name for name in raw_tasks if name in TASK_VOLUMES}
    for role, required in ROLE_TASKS.items():
        if names == required:
            return role
    if not names:
        # Nothing known: the unknown-task or empty-tasks problems already say it all.
        return None
    found = ", ".join(name for name in TASK_ORDER if name in names)
    preparator = ROLE_TASKS[Role.DATA_PREPARATOR]
    if names < preparator:
        missing = " and ".join(name for name in TASK_ORDER if name in preparator - names)
        problems.append(
            f"tasks: a data preparator needs prepare, sanity_check and statistics; "
            f"{missing} {'is' if len(preparator - names) == 1 else 'are'} missing"
        )
    else:
        problems.append(
            f"tasks: a container has exactly one role: a data preparator (prepare, "
            f"sanity_check and statistics), a model (infer) or an evaluator (evaluate); "
            f"this file has {found}"
        )
    return None


def _check_task(name: str, body: Any, problems: list[str]) -> TaskSpec | None:
    """Check one task's keys, volumes and run_args; return it when all of them are valid."""
    where = f"tasks.{name}"
    if body is None:
        body = {}
    if not isinstance(body, dict):
        problems.append(
            f"{where}: must be a mapping with input_volumes, output_volumes and run_args"
        )
        return None
    before = len(problems)
    for key in body:
        if key not in _TASK_KEYS:
            problems.append(
                f"{where}.{key}: unknown setting '{key}'; a task may contain only "
                "input_volumes, output_volumes and run_args"
            )
    inputs = check_volumes(name, "input_volumes", body.get("input_volumes"), problems)
    outputs = check_volumes(name, "output_volumes", body.get("output_volumes"), problems)
    check_distinct_paths(where, inputs, outputs, problems)
    run_args = check_run_args(f"{where}.run_args", body.get("run_args"), problems)
    if len(problems) > before or run_args is None:
        return None
    return _task_spec(name, inputs, outputs, run_args)


def _task_spec(
    name: str, inputs: dict[str, Volume], outputs: dict[str, Volume], run_args: RunArgs
) -> TaskSpec:
    """Assemble a TaskSpec from checked parts."""
    return TaskSpec(
        name=name,
        inputs=inputs,
        outputs=outputs,
        command=run_args.command,
        entrypoint=run_args.entrypoint,
        environment=run_args.environment,
        shm_size=run_args.shm_size,
        gpus=run_args.gpus,
    )
