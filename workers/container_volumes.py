"""Volumes of container tasks: the names SPEC §2.1 allows per task, their types and mounts."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

# Every task may receive its parameters and its unpacked additional files.
COMMON_INPUTS = frozenset({"parameters_file", "additional_files"})

# SPEC §2.1's table: the volume names each task may declare, as (inputs, outputs).
TASK_VOLUMES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "prepare": (
        frozenset({"data_path", "labels_path"}) | COMMON_INPUTS,
        frozenset({"output_path", "output_labels_path", "metadata_path", "report_file"}),
    ),
    "sanity_check": (
        frozenset({"data_path", "labels_path", "metadata_path"}) | COMMON_INPUTS,
        frozenset(),
    ),
    "statistics": (
        frozenset({"data_path", "labels_path", "metadata_path"}) | COMMON_INPUTS,
        frozenset({"output_path"}),
    ),
    "infer": (frozenset({"data_path"}) | COMMON_INPUTS, frozenset({"output_path"})),
    "evaluate": (
        frozenset({"predictions", "labels"}) | COMMON_INPUTS,
        frozenset({"output_path", "local_outputs_path"}),
    ),
}

# Outputs that are single files; the pipeline creates them empty before the container runs.
FILE_OUTPUTS: dict[str, frozenset[str]] = {
    "prepare": frozenset({"report_file"}),
    "sanity_check": frozenset(),
    "statistics": frozenset({"output_path"}),
    "infer": frozenset(),
    "evaluate": frozenset({"output_path"}),
}

_VOLUME_KEYS = ("mount_path", "type")
_FORBIDDEN_ROOTS = ("/proc", "/sys", "/dev")
_RESERVED_PATHS = {"/tmp": "is where the platform mounts the container's temporary space"}
_PATH_EXAMPLE = "such as /data/input"


@dataclass(frozen=True)
class Volume:
    """One mount the platform provides: its fixed name, where it appears, file or directory."""

    name: str
    mount_path: str
    type: str


def expected_volume_type(task: str, name: str) -> str:
    """Return "file" or "directory": the type SPEC §2.1 fixes for a task's volume name."""
    if name == "parameters_file" or name in FILE_OUTPUTS.get(task, frozenset()):
        return "file"
    return "directory"


def check_volumes(task: str, side: str, section: Any, problems: list[str]) -> dict[str, Volume]:
    """Check one input_volumes or output_volumes section; return its well-formed volumes."""
    where = f"tasks.{task}.{side}"
    if section is None:
        return {}
    if not isinstance(section, dict):
        problems.append(f"{where}: must be a mapping of volume names to their mount_path and type")
        return {}
    allowed_inputs, allowed_outputs = TASK_VOLUMES[task]
    allowed, other = (
        (allowed_inputs, allowed_outputs)
        if side == "input_volumes"
        else (allowed_outputs, allowed_inputs)
    )
    volumes: dict[str, Volume] = {}
    for name, spec in section.items():
        if name not in allowed:
            problems.append(f"{where}.{name}: {_unknown_volume(task, side, name, other)}")
            continue
        volume = _check_volume(f"{where}.{name}", str(name), spec, problems)
        if volume is None:
            continue
        expected = expected_volume_type(task, name)
        if volume.type != expected:
            problems.append(
                f"{where}.{name}.type: must be {expected}; the {task} task's {name} is "
                f"always a {'single file' if expected == 'file' else 'folder'}"
            )
            continue
        volumes[name] = volume
    return volumes


def _unknown_volume(task: str, side: str, name: Any, other: frozenset[str]) -> str:
    """Explain a volume name this side of this task may not use."""
    opposite = "output_volumes" if side == "input_volumes" else "input_volumes"
    if name in other:
        kind = "an output" if side == "input_volumes" else "an input"
        return f"'{name}' is {kind} of the {task} task; move it under {opposite}"
    inputs, outputs = TASK_VOLUMES[task]
    usable = f"{_names(inputs)} (inputs)"
    if outputs:
        usable += f" and {_names(outputs)} (outputs)"
    else:
        usable += "; it has no outputs"
    return f"unknown volume name '{name}'; the {task} task may use: {usable}"


def _names(names: frozenset[str]) -> str:
    """Return volume names in a stable, readable order (task-specific ones first)."""
    specific = sorted(names - COMMON_INPUTS)
    common = [n for n in ("parameters_file", "additional_files") if n in names]
    return ", ".join(specific + common)


def _check_volume(where: str, name: str, spec: Any, problems: list[str]) -> Volume | None:
    """Check one volume's keys, type and mount_path; return it when all are valid."""
    if not isinstance(spec, dict):
        problems.append(
            f"{where}: must be a mapping with mount_path and type, "
            "such as {mount_path: /data/input, type: directory}"
        )
        return None
    before = len(problems)
    for key in spec:
        if key not in _VOLUME_KEYS:
            problems.append(
                f"{where}.{key}: unknown setting '{key}'; a volume has only mount_path and type"
            )
    kind = spec.get("type")
    if kind is None:
        problems.append(f"{where}.type: is required; write type: file or type: directory")
    elif kind not in ("file", "directory"):
        problems.append(f"{where}.type: must be file or directory, not '{kind}'")
    mount_path = spec.get("mount_path")
    problem = _mount_path_problem(mount_path)
    if problem is not None:
        problems.append(f"{where}.mount_path: {problem}")
    if len(problems) > before:
        return None
    return Volume(name=name, mount_path=normalize_mount_path(mount_path), type=kind)


def normalize_mount_path(path: str) -> str:
    """Return an absolute container path with '.', '..' and repeated slashes resolved."""
    # posixpath keeps a leading "//" (POSIX allows it a special meaning); Linux does not.
    return "/" + posixpath.normpath(path).lstrip("/")


def _mount_path_problem(path: Any) -> str | None:
    """Return why ``path`` cannot be a mount point inside the container, or None."""
    if path is None:
        return f"is required; give an absolute path inside the container {_PATH_EXAMPLE}"
    if not isinstance(path, str) or not path.strip():
        return f"must be an absolute path {_PATH_EXAMPLE}"
    if not path.startswith("/"):
        return f"must be an absolute path {_PATH_EXAMPLE}, not '{path}'"
    if any(ch in path for ch in ":\0\n\r\t"):
        # Docker's volume syntax separates host path, container path and mode with ':'.
        return "must not contain ':' or control characters"
    normal = normalize_mount_path(path)
    if normal == "/":
        return f"must not be the root folder /; choose a folder {_PATH_EXAMPLE}"
    for root in _FORBIDDEN_ROOTS:
        if normal == root or normal.startswith(root + "/"):
            return (
                f"must not be under {root}, which belongs to the system; use a path {_PATH_EXAMPLE}"
            )
    if normal in _RESERVED_PATHS:
        return f"must not be {normal}, which {_RESERVED_PATHS[normal]}; use a path {_PATH_EXAMPLE}"
    return None


def check_distinct_paths(
    where: str, inputs: dict[str, Volume], outputs: dict[str, Volume], problems: list[str]
) -> None:
    """Refuse two volumes of one task mounted on the same (normalised) path."""
    seen: dict[str, str] = {}
    labelled = [(f"input_volumes.{n}", v) for n, v in inputs.items()]
    labelled += [(f"output_volumes.{n}", v) for n, v in outputs.items()]
    for label, volume in labelled:
        other = seen.get(volume.mount_path)
        if other is not None:
            problems.append(
                f"{where}.{label}.mount_path: {volume.mount_path} is already used by {other}; "
                "each volume needs its own path"
            )
        else:
            seen[volume.mount_path] = label
