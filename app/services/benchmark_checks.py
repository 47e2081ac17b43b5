"""Checks of a benchmark's fields before anything is recorded or queued."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from sqlalchemy import select

from app.extensions import db
from app.models import Benchmark, Container, Role, User
from app.names import name_key, name_problem, normalize_name
from app.services.errors import Refusal
from app.services.fetching import fetch_policy
from app.settings import settings
from workers.fetch import FetchError, probe

# The form field of each container and the role it must have (its run slot too).
SLOT_FIELDS = {
    "prep_id": Role.DATA_PREPARATOR,
    "model_id": Role.MODEL,
    "evaluator_id": Role.EVALUATOR,
}


class CheckedFields(Protocol):
    """The fields of a submission or an edit that are checked here."""

    name: str
    demo_url: str
    prep_id: int | None
    model_id: int | None
    evaluator_id: int | None


def check_fields(data: CheckedFields, user: User, *, current: Benchmark | None) -> None:
    """Check the name, the three containers and the demo link; raise every problem at once."""
    errors = find_problems(data, user, current=current)
    if errors:
        raise Refusal(field_errors=errors)


def find_problems(
    data: CheckedFields,
    user: User,
    *,
    current: Benchmark | None,
    skip: Collection[str] = (),
) -> dict[str, list[str]]:
    """Return the problems of each field not in skip (fields the form already refused)."""
    errors: dict[str, list[str]] = {}
    if "name" not in skip:
        problem = _name_problem(data.name, current)
        if problem:
            errors["name"] = [problem]
    for key, role in SLOT_FIELDS.items():
        problem = None if key in skip else container_problem(getattr(data, key), role, user)
        if problem:
            errors[key] = [problem]
    if "demo_url" in skip:
        pass
    elif not data.demo_url:
        errors["demo_url"] = ["Please paste the link to the demo data."]
    elif current is None or data.demo_url != current.demo_url:
        problem = _demo_link_problem(data.demo_url)
        if problem:
            errors["demo_url"] = [problem]
    return errors


def _name_problem(name: str, current: Benchmark | None) -> str | None:
    name = normalize_name(name)
    if not name:
        return "Please give the benchmark a name."
    if len(name) > 128:
        return "Use at most 128 characters."
    if name_problem(name):
        return name_problem(name)
    query = select(Benchmark).where(Benchmark.name_key == name_key(name))
    if current is not None:
        query = query.where(Benchmark.id != current.id)
    taken = db.session.scalar(query)
    if taken is not None:
        return (
            f"The name “{taken.name}” is taken (names ignore upper and lower case). "
            "Choose another one, for example by adding a year or a version."
        )
    return None


def container_problem(container_id: int | None, role: Role, user: User) -> str | None:
    """Say why this container cannot fill this place of user's benchmark, or return None."""
    container = db.session.get(Container, container_id) if container_id is not None else None
    if container is None:
        return f"Choose the {role.benchmark_noun}."
    if container.role != role:
        return (
            f"“{container.name}” is {container.role.a_noun}, not {role.a_noun}. "
            f"Choose a container registered as {role.a_noun}."
        )
    if not container.is_valid:
        return f"“{container.name}” was marked invalid and cannot be used any more."
    if container.owner_id != user.id and not container.is_operational:
        return (
            f"“{container.name}” belongs to another member and is still in development, so it "
            "may change. Only other members' operational (frozen) containers can be used."
        )
    return None


def _demo_link_problem(url: str) -> str | None:
    """Check that the demo link answers, without downloading the archive."""
    config = settings()
    try:
        probe(url, policy=fetch_policy(config), max_bytes=config.max_demo_bytes)
    except FetchError as error:
        text = str(error).strip().rstrip(".")
        return (
            f"Benchgate could not use this link: {text[:1].lower()}{text[1:]}. "
            "Check that it opens in your browser and gives the archive itself."
        )
    return None
