"""Reading containers: the catalogue's query and a readable view of a configuration."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import yaml
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Container, ContainerRole, User
from workers.container_config import ConfigError, YamlError, parse_container_config


def catalogue_ids(
    *, role: ContainerRole | None = None, owner: User | None = None, search: str | None = None
) -> Select:
    """Select the ids of containers by role, owner and a case-insensitive part of the name."""
    query = select(Container.id)
    if role is not None:
        query = query.where(Container.role == role)
    if owner is not None:
        query = query.where(Container.owner_id == owner.id)
    if search and search.strip():
        query = query.where(Container.name_key.contains(search.strip().lower(), autoescape=True))
    return query.order_by(Container.name_key, Container.id)


def catalogue_page(
    *,
    role: ContainerRole | None = None,
    owner: User | None = None,
    search: str | None = None,
    per_page: int,
    page: int | None = None,
) -> Pagination:
    """Return one page of the catalogue, by name, with each container's owner."""
    # The page is cut from the ids alone, which ix_containers_catalogue covers; only its rows
    # are read afterwards. An OFFSET over whole rows joined to their owners reads every row
    # before the page: page 200 of 10,000 containers cost 26 ms of database CPU that way.
    ids_page = db.paginate(
        catalogue_ids(role=role, owner=owner, search=search),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    ids = list(ids_page.items)
    # The owners come in the same query: one query per page whatever the number of rows.
    rows = db.session.scalars(
        select(Container).options(joinedload(Container.owner)).where(Container.id.in_(ids))
    )
    by_id = {container.id: container for container in rows}
    ids_page.items = [by_id[container_id] for container_id in ids]
    return ids_page


@dataclass(frozen=True)
class Mount:
    """One folder or file the platform mounts into a task."""

    task: str
    direction: str  # "input" (read-only) or "output" (writable)
    name: str
    path: str
    kind: str  # "file" or "folder"


@dataclass(frozen=True)
class TaskStart:
    """How one task starts, as words for the detail page (None: the image's default)."""

    task: str
    command: str | None
    entrypoint: str | None
    environment: list[str]
    shm_size: str | None
    gpus: str | None


@dataclass(frozen=True)
class ConfigView:
    """The mounts and start settings of every task of a configuration."""

    mounts: list[Mount]
    starts: list[TaskStart]


def describe_config(container: Container) -> ConfigView | None:
    """Read the container's recorded configuration for display; None if it no longer parses."""
    text = container.config_text or ""
    try:
        # The file was within the size cap when it was registered; a lower cap set later
        # must not hide it from its page.
        parsed = parse_container_config(text, max_bytes=len(text.encode()) + 1)
    except (YamlError, ConfigError):
        return None
    mounts: list[Mount] = []
    starts: list[TaskStart] = []
    for task in parsed.tasks.values():
        for direction, volumes in (("input", task.inputs), ("output", task.outputs)):
            for volume in volumes.values():
                kind = "file" if volume.type == "file" else "folder"
                mounts.append(Mount(task.name, direction, volume.name, volume.mount_path, kind))
        starts.append(
            TaskStart(
                task=task.name,
                command=shlex.join(task.command) if task.command else None,
                entrypoint=task.entrypoint,
                environment=[f"{key}={value}" for key, value in task.environment.items()],
                shm_size=task.shm_size,
                gpus=None if task.gpus is None else str(task.gpus),
            )
        )
    return ConfigView(mounts=mounts, starts=starts)


def parameters_yaml(container: Container) -> str | None:
    """Write the container's parameters back as YAML, the way the worker mounts them."""
    if container.parameters is None:
        return None
    if not container.parameters:
        return "{}\n"
    # Short lists stay on one line ([28, 28, 1]), as people usually write them.
    return yaml.safe_dump(
        container.parameters, sort_keys=False, allow_unicode=True, default_flow_style=None
    )
