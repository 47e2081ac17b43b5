"""The ``run_args`` of a container task: how Docker starts it (command, environment, limits)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from workers.docker_syntax import normalize_gpus, parse_size

# MedPerf's own list; anything else (ports, privileges, mounts) is the platform's decision.
RUN_ARGS_KEYS = ("command", "entrypoint", "environment", "shm_size", "gpus")

# POSIX shells accept these names; Docker accepts more, but nothing else survives `env`.
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RunArgs:
    """Checked run_args of one task, normalised for the Docker SDK."""

    command: list[str] | None = None
    entrypoint: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    shm_size: str | None = None
    gpus: str | int | None = None


def check_run_args(where: str, section: Any, problems: list[str]) -> RunArgs | None:
    """Check a task's run_args, appending "path: message" problems; None if any was found."""
    if section is None:
        return RunArgs()
    if not isinstance(section, dict):
        problems.append(f"{where}: must be a mapping with some of {_keys()}")
        return None
    before = len(problems)
    for key in section:
        if key not in RUN_ARGS_KEYS:
            problems.append(
                f"{where}.{key}: unknown setting '{key}'; run_args may contain only {_keys()}"
            )
    command = _command(f"{where}.command", section.get("command"), problems)
    entrypoint = _entrypoint(f"{where}.entrypoint", section.get("entrypoint"), problems)
    environment = _environment(f"{where}.environment", section.get("environment"), problems)
    shm_size = _shm_size(f"{where}.shm_size", section.get("shm_size"), problems)
    gpus = None
    try:
        gpus = normalize_gpus(section.get("gpus"))
    except ValueError as exc:
        problems.append(f"{where}.gpus: {exc}")
    if len(problems) > before:
        return None
    return RunArgs(command, entrypoint, environment, shm_size, gpus)


def _keys() -> str:
    """Return the allowed run_args keys as a readable list."""
    return ", ".join(RUN_ARGS_KEYS[:-1]) + " and " + RUN_ARGS_KEYS[-1]


def _command(where: str, value: Any, problems: list[str]) -> list[str] | None:
    """Return the command as a list of words: a string is split the way a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError:
            problems.append(f"{where}: has an unclosed quote; check the quotes in '{value}'")
            return None
        return words or None
    if isinstance(value, list):
        words = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                problems.append(
                    f"{where}[{index}]: must be a word of the command (text or a number)"
                )
            else:
                words.append(str(item))
        return words or None
    problems.append(
        f"{where}: must be text such as python3 /app/run.py, or a list of words such as "
        "[python3, /app/run.py]"
    )
    return None


def _entrypoint(where: str, value: Any, problems: list[str]) -> str | None:
    """Return the entrypoint: one executable, as ``docker run --entrypoint`` takes it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be the path of one program, such as /bin/sh")
        return None
    return value


def _environment(where: str, value: Any, problems: list[str]) -> dict[str, str]:
    """Return environment variables as strings; values must be single values, not lists."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(
            f"{where}: must be a mapping of variable names to values, such as {{LOG_LEVEL: info}}"
        )
        return {}
    environment: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
            problems.append(
                f"{where}.{name}: '{name}' is not a valid variable name; use letters, digits "
                "and '_', not starting with a digit"
            )
        elif item is None:
            problems.append(f"{where}.{name}: has no value; write '' for an empty value")
        elif isinstance(item, (str, int, float, bool)):
            # str() like MedPerf does, so a container sees the same text under both.
            environment[name] = str(item)
        else:
            problems.append(f"{where}.{name}: must be a single value, not a list or a mapping")
    return environment


def _shm_size(where: str, value: Any, problems: list[str]) -> str | None:
    """Return the shared-memory size as Docker's text, such as "1g" or "2048"."""
    if value is None:
        return None
    try:
        parse_size(value)
    except ValueError:
        problems.append(f"{where}: must be a size such as 512m, 1g or 2048 (bytes), not '{value}'")
        return None
    return str(value).replace(" ", "").lower()
