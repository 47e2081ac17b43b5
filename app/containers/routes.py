"""Views of containers: catalogue, registration, detail, edit and the one-way state changes."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from app.containers import bp
from app.containers.forms import (
    CatalogueFilterForm,
    ContainerForm,
    EditContainerForm,
    InvalidateForm,
    OperationalForm,
    RehostForm,
)
from app.extensions import db
from app.form_errors import show_errors
from app.models import Container
from app.services.audit import events_for
from app.services.container_catalogue import catalogue_page, describe_config, parameters_yaml
from app.services.containers import (
    REHOSTABLE,
    ContainerLinks,
    can_edit,
    can_invalidate,
    invalidate_container,
    is_owner,
    make_operational,
    register_container,
    rehost_link,
    update_container,
)
from app.services.errors import Refusal
from app.services.page_cache import Rendered, kept_html
from app.services.paging import requested_page
from app.settings import settings


@bp.route("/")
@login_required
def index():
    filters = CatalogueFilterForm(request.args)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    owner = current_user if filters.mine.data else None
    role = filters.selected_role()

    def render() -> Rendered:
        page = catalogue_page(
            role=role, owner=owner, search=filters.q.data, per_page=settings().page_size
        )
        return Rendered(render_template("containers/_list.html", page=page, args=args))

    key = ("containers", owner.id if owner else None, tuple(sorted(args.items())), requested_page())
    listing = kept_html(key, render, viewer_id=current_user.id)
    return render_template("containers/index.html", listing=listing, filters=filters, args=args)


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register():
    form = ContainerForm()
    if form.validate_on_submit():
        try:
            container = register_container(current_user, ContainerLinks.from_mapping(form.data))
        except Refusal as error:
            show_errors(form, error)
        else:
            role = container.role.label.lower()
            article = "an" if role[0] in "aeiou" else "a"
            flash(f"“{container.name}” is registered as {article} {role}.", "success")
            return redirect(url_for("containers.detail", container_id=container.id))
    return render_template("containers/register.html", form=form)


@bp.route("/<int:container_id>")
@login_required
def detail(container_id: int):
    container = db.get_or_404(Container, container_id)
    return render_template(
        "containers/detail.html",
        container=container,
        config_view=describe_config(container),
        parameters=parameters_yaml(container),
        events=events_for(container),
        owner=is_owner(container, current_user),
        can_edit=can_edit(container, current_user),
        can_invalidate=can_invalidate(container, current_user),
    )


@bp.route("/<int:container_id>/edit", methods=["GET", "POST"])
@login_required
def edit(container_id: int):
    container = db.get_or_404(Container, container_id)
    if not is_owner(container, current_user):
        abort(403)
    if not can_edit(container, current_user):
        flash(_frozen_message(container), "error")
        return redirect(url_for("containers.detail", container_id=container.id))
    form = EditContainerForm.for_container(container)
    if form.validate_on_submit():
        try:
            update_container(container, ContainerLinks.from_mapping(form.data), by=current_user)
        except Refusal as error:
            show_errors(form, error)
        else:
            flash(f"“{container.name}” is checked again and saved.", "success")
            return redirect(url_for("containers.detail", container_id=container.id))
    return render_template("containers/edit.html", form=form, container=container)


def _frozen_message(container: Container) -> str:
    if not container.is_valid:
        return "This container is marked invalid and can no longer be edited."
    return (
        "This container is operational, so it is frozen and cannot be edited. If one of its "
        "files moved to another address, use “Re-host a link”."
    )


@bp.route("/<int:container_id>/operational", methods=["GET", "POST"])
@login_required
def operational(container_id: int):
    container = db.get_or_404(Container, container_id)
    if not is_owner(container, current_user):
        abort(403)
    form = OperationalForm()
    if form.validate_on_submit():
        try:
            make_operational(container, by=current_user)
        except Refusal as error:
            flash(str(error), "error")
        else:
            flash(f"“{container.name}” is operational: it is now frozen.", "success")
        return redirect(url_for("containers.detail", container_id=container.id))
    if container.is_operational or not container.is_valid:
        flash(
            "This container is already operational."
            if container.is_operational
            else "An invalid container cannot become operational.",
            "info",
        )
        return redirect(url_for("containers.detail", container_id=container.id))
    return render_template("containers/operational.html", form=form, container=container)


@bp.route("/<int:container_id>/invalidate", methods=["GET", "POST"])
@login_required
def invalidate(container_id: int):
    container = db.get_or_404(Container, container_id)
    if not (is_owner(container, current_user) or current_user.is_admin):
        abort(403)
    if not container.is_valid:
        flash("This container is already marked invalid.", "info")
        return redirect(url_for("containers.detail", container_id=container.id))
    form = InvalidateForm()
    if form.validate_on_submit():
        try:
            invalidate_container(container, by=current_user, reason=form.reason.data)
        except Refusal as error:
            show_errors(form, error)
        else:
            flash(f"“{container.name}” is marked invalid.", "success")
            return redirect(url_for("containers.detail", container_id=container.id))
    return render_template("containers/invalidate.html", form=form, container=container)


@bp.route("/<int:container_id>/rehost", methods=["GET", "POST"])
@login_required
def rehost(container_id: int):
    container = db.get_or_404(Container, container_id)
    if not is_owner(container, current_user):
        abort(403)
    if not container.is_valid:
        flash("This container is marked invalid and can no longer be changed.", "error")
        return redirect(url_for("containers.detail", container_id=container.id))
    form = RehostForm()
    form.file.choices = [
        SelectChoice(which, words.capitalize())
        for which, words in REHOSTABLE.items()
        if getattr(container, f"{which}_url")
    ]
    if form.validate_on_submit():
        try:
            rehost_link(container, form.file.data, form.url.data, by=current_user)
        except Refusal as error:
            show_errors(form, error)
        else:
            flash(f"The {REHOSTABLE[form.file.data]} now comes from its new link.", "success")
            return redirect(url_for("containers.detail", container_id=container.id))
    return render_template("containers/rehost.html", form=form, container=container)
