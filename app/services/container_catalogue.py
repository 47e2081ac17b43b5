"""Reading containers: the catalogue's query and a readable view of a configuration."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache

import yaml
from sqlalchemy import Select, Subquery, bindparam, select

from app.models import Container, Role, User
from app.names import name_key
from app.services.paging import LIKE_ESCAPE, Page, PagedQuery, like_pattern
from workers.container_config import ConfigError, YamlError, parse_container_config


def catalogue_page(
    *,
    role: Role | None = None,
    owner: User | None = None,
    search: str | None = None,
    per_page: int,
    page: int | None = None,
) -> Page:
    """Return one page of the catalogue by name: each container's row and its owner's name."""
    search = (search or "").strip()
    params = {
        "role": role,
        "owner_id": owner.id if owner is not None else None,
        "name_pattern": like_pattern(name_key(search)),
    }
    query = _catalogue_query(role is not None, owner is not None, bool(search))
    return query.page(params, per_page=per_page, page=page)


@cache
def _catalogue_query(by_role: bool, by_owner: bool, by_name: bool) -> PagedQuery:
    """The catalogue's query for one combination of filters (values are parameters)."""
    ids = select(Container.id)
    if by_role:
        ids = ids.where(Container.role == bindparam("role"))
    if by_owner:
        ids = ids.where(Container.owner_id == bindparam("owner_id"))
    if by_name:
        ids = ids.where(Container.name_key.like(bindparam("name_pattern"), escape=LIKE_ESCAPE))

    def rows(page_ids: Subquery) -> Select:
        # Only what the list shows: no configuration text, no parameters.
        return (
            select(
                Container.id,
                Container.name,
                Container.role,
                Container.image,
                Container.state,
                Container.is_valid,
                Container.owner_id,
                Container.created_at,
                User.display_name.label("owner_name"),
            )
            .join(page_ids, page_ids.c.id == Container.id)
            .join(User, User.id == Container.owner_id)
        )

    # ix_containers_catalogue holds name_key, id and role: the page is cut from it alone.
    return PagedQuery.build(ids, [Container.name_key, Container.id], rows)


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
