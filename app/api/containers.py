"""Containers through the API: the catalogue, registration, edits, freezing, re-hosting."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from app.api import bp
from app.api.common import MAX_ID, choice_arg, created, cursor_page, json_body, moment
from app.api.errors import ApiError
from app.api.forms import checked, form_data, refuse
from app.containers.forms import ContainerForm, EditContainerForm, InvalidateForm, RehostForm
from app.extensions import db
from app.form_errors import show_errors
from app.models import Container, Role
from app.services.containers import (
    REHOSTABLE,
    ContainerLinks,
    can_edit,
    invalidate_container,
    is_owner,
    make_operational,
    register_container,
    rehost_link,
    update_container,
)
from app.services.errors import Refusal
from app.services.paging import LIKE_ESCAPE, like_pattern

LINK_FIELDS = [
    "name",
    "config_url",
    "config_sha256",
    "parameters_url",
    "parameters_sha256",
    "additional_files_url",
    "additional_files_sha256",
    "image_digest",
    "operational",
]


def present_container(container: Container, *, full: bool = False) -> dict[str, Any]:
    """A container as the API shows it (with its configuration text when full)."""
    body = {
        "id": container.id,
        "name": container.name,
        "role": container.role.value,
        "state": container.state.value,
        "is_valid": container.is_valid,
        "owner": {"id": container.owner_id, "name": container.owner.display_name},
        "image": container.image,
        "image_digest": container.image_digest,
        "config_url": container.config_url,
        "config_sha256": container.config_sha256,
        "parameters_url": container.parameters_url,
        "parameters_sha256": container.parameters_sha256,
        "additional_files_url": container.additional_files_url,
        "additional_files_sha256": container.additional_files_sha256,
        "created_at": moment(container.created_at),
        "updated_at": moment(container.updated_at),
        "links": {
            "self": url_for("api.get_container", container_id=container.id),
            "page": url_for("containers.detail", container_id=container.id),
        },
    }
    if full:
        body["config_text"] = container.config_text
        body["parameters"] = container.parameters
    return body


def found(container_id: int) -> Container:
    """The container (every member may see every container), or 404."""
    container = db.session.get(Container, container_id) if container_id <= MAX_ID else None
    if container is None:
        raise ApiError(404, "not_found", f"There is no container #{container_id}.")
    return container


def owned(container_id: int) -> Container:
    """The container, when the caller registered it; 403 otherwise, as the pages answer."""
    container = found(container_id)
    if not is_owner(container, current_user):
        raise ApiError(403, "forbidden", "Only the member who registered it can change it.")
    return container


@bp.get("/containers")
def list_containers():
    """The catalogue, newest first, with its filters: role, mine=1, q (name contains)."""
    query = select(Container)
    role = choice_arg("role", [r.value for r in Role])
    if role:
        query = query.where(Container.role == Role(role))
    if request.args.get("mine") == "1":
        query = query.where(Container.owner_id == current_user.id)
    search = (request.args.get("q") or "").strip()[:128]
    if search:
        query = query.where(
            Container.name_key.like(like_pattern(search.lower()), escape=LIKE_ESCAPE)
        )
    return jsonify(cursor_page(query, Container.id, present_container))


@bp.get("/containers/<int:container_id>")
def get_container(container_id: int):
    return jsonify(present_container(found(container_id), full=True))


@bp.post("/containers")
def register():
    """Register a container: its files are fetched and checked as the page does."""
    form = checked(
        ContainerForm(formdata=form_data(json_body(), LINK_FIELDS), meta={"csrf": False})
    )
    try:
        container = register_container(current_user, ContainerLinks.from_mapping(form.data))
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    body = present_container(container, full=True)
    return created(body, url_for("api.get_container", container_id=container.id))


@bp.patch("/containers/<int:container_id>")
def edit(container_id: int):
    """Change a container in development: given fields replace the recorded ones."""
    container = owned(container_id)
    if not can_edit(container, current_user):
        raise ApiError(409, "frozen", "An operational or invalid container cannot be edited.")
    body = json_body()
    current = {name: getattr(container, name, None) for name in LINK_FIELDS}
    # A hash left from the old file would refuse the new one: only the given ones count.
    current.update(config_sha256=None, parameters_sha256=None, operational=False)
    data = form_data({**current, **body}, LINK_FIELDS)
    form = checked(EditContainerForm(formdata=data, meta={"csrf": False}))
    try:
        update_container(container, ContainerLinks.from_mapping(form.data), by=current_user)
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    return jsonify(present_container(container, full=True))


@bp.post("/containers/<int:container_id>/operational")
def operational(container_id: int):
    """Freeze a container for good."""
    container = owned(container_id)
    try:
        make_operational(container, by=current_user)
    except Refusal as error:
        raise ApiError(409, "conflict", str(error)) from None
    return jsonify(present_container(container, full=True))


@bp.post("/containers/<int:container_id>/invalidate")
def invalidate(container_id: int):
    """Mark a container invalid: its owner, or an administrator with a reason."""
    container = found(container_id)
    if not (is_owner(container, current_user) or current_user.is_admin):
        raise ApiError(403, "forbidden", "Only its owner or an administrator can invalidate it.")
    if not container.is_valid:
        raise ApiError(409, "conflict", "This container is already marked invalid.")
    form = checked(
        InvalidateForm(formdata=form_data(json_body(), ["reason"]), meta={"csrf": False})
    )
    try:
        invalidate_container(container, by=current_user, reason=form.reason.data)
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    return jsonify(present_container(container, full=True))


@bp.post("/containers/<int:container_id>/rehost")
def rehost(container_id: int):
    """Point one of the container's links to a new place that serves the very same file."""
    container = owned(container_id)
    if not container.is_valid:
        raise ApiError(409, "conflict", "An invalid container cannot be changed.")
    form = RehostForm(formdata=form_data(json_body(), ["file", "url"]), meta={"csrf": False})
    form.file.choices = [
        SelectChoice(which, words)
        for which, words in REHOSTABLE.items()
        if getattr(container, f"{which}_url")
    ]
    checked(form)
    try:
        rehost_link(container, form.file.data, form.url.data, by=current_user)
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    return jsonify(present_container(container, full=True))
