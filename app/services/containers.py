"""Containers: registration from links, edits, one-way state changes and re-hosted links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache

from sqlalchemy import Row, Select, bindparam, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Container, ContainerState, Role, User
from app.names import name_key, name_problem, normalize_name
from app.services.audit import record_event
from app.services.container_checks import (
    CheckedFiles,
    check_files,
    fetch_same_file,
    link_problem,
    sentence,
)
from app.services.errors import FORM, Refusal
from app.services.fetching import probe_additional_files
from app.services.users import unverified_problem
from app.settings import settings
from workers.fetch import FetchError

# What an edit may change, with the words the audit trail uses for each.
_EDITABLE = {
    "name": "name",
    "config_url": "configuration link",
    "config_sha256": "configuration file",
    "parameters_url": "parameters link",
    "parameters_sha256": "parameters file",
    "additional_files_url": "additional-files link",
    "additional_files_sha256": "additional-files hash",
    "image_digest": "image digest",
}

# The links that can be re-hosted, with how pages and messages name their file.
REHOSTABLE = {
    "config": "configuration file",
    "parameters": "parameters file",
    "additional_files": "additional files",
}


@dataclass(frozen=True)
class ContainerLinks:
    """What a member types to register or edit a container; empty optional fields are None."""

    name: str
    config_url: str
    config_sha256: str | None = None
    parameters_url: str | None = None
    parameters_sha256: str | None = None
    additional_files_url: str | None = None
    additional_files_sha256: str | None = None
    image_digest: str | None = None
    operational: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ContainerLinks:
        """Build from form data, turning blank optional values into None."""
        values = {}
        for item in fields(cls):
            value = data.get(item.name)
            if isinstance(value, str):
                value = value.strip() or None
            values[item.name] = value
        values["name"] = values["name"] or ""
        values["config_url"] = values["config_url"] or ""
        values["operational"] = bool(values["operational"])
        return cls(**values)


def is_owner(container: Container, user: User) -> bool:
    """Tell whether user registered this container."""
    return user.is_authenticated and container.owner_id == user.id


def can_edit(container: Container, user: User) -> bool:
    """Tell whether user may edit the container now: its owner, while in development."""
    return is_owner(container, user) and container.is_valid and not container.is_operational


def can_invalidate(container: Container, user: User) -> bool:
    """Tell whether user may mark the container invalid: its owner or an administrator."""
    return container.is_valid and (is_owner(container, user) or bool(user.is_admin))


def register_container(owner: User, links: ContainerLinks) -> Container:
    """Fetch and check the container's files, then record it; raise Refusal if refused."""
    problem = unverified_problem(owner)
    if problem:
        raise Refusal(problem)
    files = _check_everything(links, current=None)
    container = Container(owner_id=owner.id, state=ContainerState.DEVELOPMENT, is_valid=True)
    _apply(container, links, files)
    db.session.add(container)
    record_event(owner, "register", container)
    if links.operational:
        container.state = ContainerState.OPERATIONAL
        record_event(owner, "make_operational", container, "registered as operational")
    _commit_or_refuse(links)
    return container


def update_container(container: Container, links: ContainerLinks, *, by: User) -> Container:
    """Re-fetch and re-check the links of a container in development and save the changes."""
    _require_owner(container, by)
    _require_editable(container)
    files = _check_everything(links, current=container)
    before = {name: getattr(container, name) for name in _EDITABLE}
    _apply(container, links, files)
    changed = [
        words for name, words in _EDITABLE.items() if getattr(container, name) != before[name]
    ]
    reason = "changed: " + ", ".join(changed) if changed else "checked again, nothing changed"
    record_event(by, "edit", container, reason)
    if links.operational:
        container.state = ContainerState.OPERATIONAL
        record_event(by, "make_operational", container)
    _commit_or_refuse(links)
    return container


def make_operational(container: Container, *, by: User) -> None:
    """Freeze a container in development for good; only its owner may."""
    _require_owner(container, by)
    if not container.is_valid:
        raise Refusal("An invalid container cannot become operational.")
    if container.is_operational:
        raise Refusal("This container is already operational.")
    container.state = ContainerState.OPERATIONAL
    record_event(by, "make_operational", container)
    db.session.commit()


def invalidate_container(container: Container, *, by: User, reason: str | None = None) -> None:
    """Mark a container invalid for good: its owner, or an administrator who says why."""
    if not (is_owner(container, by) or by.is_admin):
        raise Refusal("Only the container's owner or an administrator can invalidate it.")
    if not container.is_valid:
        raise Refusal("This container is already marked invalid.")
    reason = (reason or "").strip() or None
    if not is_owner(container, by) and reason is None:
        raise Refusal(
            field_errors={"reason": ["Please tell the owner why you invalidate their container."]}
        )
    container.is_valid = False
    record_event(by, "invalidate", container, reason)
    db.session.commit()


def rehost_link(container: Container, which: str, url: str, *, by: User) -> None:
    """Point one of the container's links to a new place that serves the very same file.

    The configuration and parameters files are downloaded and must hash to the recorded
    value. The additional-files archive can be gigabytes, so it is only probed here; its
    recorded hash is checked by the next test's download, which fails on any difference.
    Without a recorded hash there is nothing to compare with, so re-hosting it is refused.
    """
    _require_owner(container, by)
    if not container.is_valid:
        raise Refusal("An invalid container cannot be changed.")
    if which not in REHOSTABLE:
        raise Refusal(field_errors={"file": ["Choose which file moved."]})
    url = url.strip()
    problem = link_problem(url, archive=which == "additional_files")
    if problem:
        raise Refusal(field_errors={"url": [problem]})
    old_url = getattr(container, f"{which}_url")
    recorded = getattr(container, f"{which}_sha256")
    what = REHOSTABLE[which]
    if old_url is None:
        raise Refusal(field_errors={"file": [f"This container has no {what} to re-host."]})
    if url == old_url:
        raise Refusal(field_errors={"url": [f"This is already the link of the {what}."]})
    if which == "additional_files":
        if recorded is None:
            raise Refusal(
                field_errors={
                    "url": [
                        "The additional files have no recorded hash yet, so Benchgate could "
                        "not tell whether the new link serves the same archive. Run a "
                        "compatibility test first: it records the hash."
                    ]
                }
            )
        try:
            probe_additional_files(url, settings())
        except FetchError as exc:
            message = f"Benchgate could not reach this link: {sentence(str(exc))}"
            raise Refusal(field_errors={"url": [message]}) from None
    else:
        problem = fetch_same_file(url, which, recorded, settings())
        if problem:
            raise Refusal(field_errors={"url": [problem]})
    setattr(container, f"{which}_url", url)
    record_event(by, "rehost", container, f"{what}: {old_url} -> {url}")
    db.session.commit()


def _require_owner(container: Container, user: User) -> None:
    if not is_owner(container, user):
        raise Refusal("Only the member who registered this container can change it.")


def _require_editable(container: Container) -> None:
    if not container.is_valid:
        raise Refusal("This container is marked invalid and can no longer be edited.")
    if container.is_operational:
        raise Refusal(
            "This container is operational, so it is frozen and cannot be edited. If a file "
            "moved to another address, use “Re-host a link” instead."
        )


def _check_everything(links: ContainerLinks, *, current: Container | None) -> CheckedFiles:
    """Check the name and every link, gathering all the problems before refusing."""
    errors: dict[str, list[str]] = {}
    name = normalize_name(links.name)
    if not name:
        errors["name"] = ["Please give the container a name."]
    elif len(name) > 128:
        errors["name"] = ["Use at most 128 characters."]
    elif name_problem(name):
        errors["name"] = [name_problem(name)]
    else:
        owner_of_name = _named(name, exclude=current)
        if owner_of_name is not None:
            errors["name"] = [
                f"The name “{owner_of_name.name}” is taken (names ignore upper and lower "
                "case). Choose another one, for example by adding a version."
            ]
    files = check_files(links, errors)
    if files is not None and not errors:
        twin = _exact_duplicate(files, exclude=current)
        if twin is not None:
            errors["config_url"] = [
                f"This is exactly the container “{twin.name}” (same image, configuration, "
                "parameters and additional files). Use that one, or change one of the files."
            ]
    if errors or files is None:
        raise Refusal(field_errors=errors or {FORM: ["The container could not be checked."]})
    return files


def _named(name: str, *, exclude: Container | None) -> Container | None:
    query = select(Container).where(Container.name_key == name_key(name))
    if exclude is not None:
        query = query.where(Container.id != exclude.id)
    return db.session.scalar(query)


def _exact_duplicate(files: CheckedFiles, *, exclude: Container | None) -> Container | None:
    # Comparing with None renders as IS NULL, so absent files compare as equal too.
    query = select(Container).where(
        Container.image == files.image,
        Container.config_sha256 == files.config_sha256,
        Container.parameters_sha256 == files.parameters_sha256,
        Container.additional_files_url == files.additional_files_url,
        Container.additional_files_sha256 == files.additional_files_sha256,
    )
    if exclude is not None:
        query = query.where(Container.id != exclude.id)
    return db.session.scalar(query.limit(1))


def _apply(container: Container, links: ContainerLinks, files: CheckedFiles) -> None:
    container.name = normalize_name(links.name)
    container.name_key = name_key(links.name)
    container.role = Role(files.role)
    container.image = files.image
    container.config_url = links.config_url
    container.config_sha256 = files.config_sha256
    container.config_text = files.config_text
    container.parameters_url = links.parameters_url
    container.parameters_sha256 = files.parameters_sha256
    container.parameters = files.parameters
    container.additional_files_url = files.additional_files_url
    container.additional_files_sha256 = files.additional_files_sha256
    if files.image_digest is None:
        container.digest_given = False
    elif files.image_digest != container.image_digest:
        container.digest_given = True  # typed by the owner; one pinned by a test stays pinned
    container.image_digest = files.image_digest


def _commit_or_refuse(links: ContainerLinks) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # Someone took the name between the check and the commit.
        db.session.rollback()
        raise Refusal(
            field_errors={
                "name": [f"The name “{links.name.strip()}” was just taken. Choose another one."]
            }
        ) from None


def own_models(user: User) -> list[Row]:
    """The member's valid models, by name: id, name and state, enough for a list to pick from."""
    return list(db.session.execute(_own_models_query(), {"owner_id": user.id}))


@cache
def _own_models_query() -> Select:
    # Built once: every approved benchmark's page lists the member's models.
    return (
        select(Container.id, Container.name, Container.state)
        .where(
            Container.owner_id == bindparam("owner_id"),
            Container.role == Role.MODEL,
            Container.is_valid.is_(True),
        )
        .order_by(Container.name_key, Container.id)
    )


def usable_containers(
    user: User, role: Role | None = None, *, shared: bool = True
) -> list[Container]:
    """The valid containers user may test or put in a benchmark: own, and others' operational.

    With shared=False only the user's own: a list that does not grow with the whole portal.
    """
    own = Container.owner_id == user.id
    query = select(Container).where(
        Container.is_valid.is_(True),
        or_(own, Container.state == ContainerState.OPERATIONAL) if shared else own,
    )
    if role is not None:
        query = query.where(Container.role == role)
    return list(db.session.scalars(query.order_by(Container.name_key, Container.id)))
