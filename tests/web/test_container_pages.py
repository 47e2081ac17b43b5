"""The container catalogue, detail page, edit, make operational, invalidate and re-host."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditEvent, Container, ContainerState, Role
from app.settings import reconfigure
from tests.support.accounts import make_user, sign_in_as
from tests.support.containers import (
    example,
    make_container,
    names_listed,
    prep_links,
    register,
    sha256,
)
from tests.support.web import page_text, post_form


def actions_of(container: Container) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "container", AuditEvent.subject_id == container.id)
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def other(app):
    return make_user("otto@example.org", "Otto Other")


@pytest.fixture
def registered(member_client, assets) -> Container:
    """The example data preparator, registered through the form by the member."""
    assert register(member_client, prep_links(assets)).status_code == 302
    return db.session.scalar(select(Container))


# Catalogue


def test_catalogue_filters_by_role_mine_and_name(member_client, member, other):
    make_container(member, "Lung prep", Role.DATA_PREPARATOR)
    make_container(member, "Lung CNN", Role.MODEL)
    make_container(other, "Brain CNN", Role.MODEL)
    make_container(other, "Dice score", Role.EVALUATOR, valid=False)
    everything = page_text(member_client.get("/containers/"))
    assert names_listed(everything) == ["Brain CNN", "Dice score", "Lung CNN", "Lung prep"]
    assert 'class="badge state-invalid">invalid' in everything
    models = page_text(member_client.get("/containers/?role=model"))
    assert names_listed(models) == ["Brain CNN", "Lung CNN"]
    mine = page_text(member_client.get("/containers/?mine=y"))
    assert names_listed(mine) == ["Lung CNN", "Lung prep"]
    search = page_text(member_client.get("/containers/?q=cnn&mine=y"))
    assert names_listed(search) == ["Lung CNN"]
    assert names_listed(page_text(member_client.get("/containers/?q=%25"))) == []
    assert "No container matches these filters." in page_text(
        member_client.get("/containers/?q=nothing")
    )


def test_catalogue_is_paginated_and_keeps_the_filters(member_client, member, app):
    reconfigure(app, PAGE_SIZE=2)
    for number in range(5):
        make_container(member, f"Model {number}")
    make_container(member, "An evaluator", Role.EVALUATOR)
    first = page_text(member_client.get("/containers/?role=model"))
    assert names_listed(first) == ["Model 0", "Model 1"]
    assert "Page 1 of 3" in first
    assert 'href="/containers/?page=2&amp;role=model"' in first.replace("&", "&amp;")
    last = page_text(member_client.get("/containers/?role=model&page=3"))
    assert names_listed(last) == ["Model 4"]


def test_catalogue_queries_do_not_grow_with_the_rows(member_client, member, other):
    def queries_for_page() -> int:
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert member_client.get("/containers/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    make_container(member, "First")
    few = queries_for_page()
    for number in range(12):
        make_container(other if number % 2 else member, f"More {number}")
    assert queries_for_page() == few


# Detail


def test_detail_shows_hashes_mounts_table_and_raw_yaml(registered, member_client, other):
    client = member_client
    post_form(client, "/account/signout", {}, page="/")
    sign_in_as(client, other)  # every member may see every container
    response = client.get(f"/containers/{registered.id}")
    body = page_text(response)
    assert response.status_code == 200
    assert sha256(example("prep.yaml")) in body
    assert sha256(example("prep_parameters.yaml")) in body
    assert "mlcommons/chestxray-tutorial-prep:0.0.1" in body
    assert "pinned at the first passing test" in body
    mounts = body.split('class="table mounts"', 1)[1].split("</table>", 1)[0]
    assert (
        "<td><code>statistics</code></td>\n        <td>output</td>\n"
        "        <td><code>output_path</code></td>\n"
        "        <td><code>/mlcube_io3/statistics.yaml</code></td>\n        <td>file</td>"
    ) in mounts
    assert '<th scope="col">Path inside the container</th>' in mounts
    assert "python3 /project/main.py --task prepare" in body
    assert "# A data preparator in MedPerf's container format" in body
    assert "image_output_size: [28, 28, 1]\n" in body
    assert "Edit" not in body.split("<h2>Summary</h2>")[0]  # no actions for another member


def test_unknown_container_gives_404(member_client):
    assert member_client.get("/containers/999").status_code == 404


def test_the_owner_sees_the_actions_of_a_container_in_development(member_client, registered):
    body = page_text(member_client.get(f"/containers/{registered.id}"))
    actions = body.split('aria-label="Actions"', 1)[1].split("</section>", 1)[0]
    assert f'href="/containers/{registered.id}/edit"' in actions
    assert f'href="/containers/{registered.id}/operational"' in actions
    assert f'href="/containers/{registered.id}/invalidate"' in actions
    assert "rehost" not in actions  # development containers are simply edited


# Edit


def edit_form(container: Container, **overrides: str) -> dict[str, str]:
    """The edit form as a browser sends it: every field, with the links already recorded."""
    return {
        "name": container.name,
        "config_url": container.config_url,
        "config_sha256": "",
        "parameters_url": container.parameters_url or "",
        "parameters_sha256": "",
        "additional_files_url": container.additional_files_url or "",
        "additional_files_sha256": container.additional_files_sha256 or "",
        "image_digest": container.image_digest or "",
        **overrides,
    }


def test_edit_in_development_refetches_and_saves(member_client, registered, assets):
    changed = example("prep.yaml").replace(b"prep:0.0.1", b"prep:0.0.2")
    assets.add_bytes("/prep/container_config.yaml", changed)
    form = edit_form(registered, name="Chest prep 0.0.2")
    url = f"/containers/{registered.id}/edit"
    response = post_form(member_client, url, form)
    assert response.status_code == 302
    db.session.refresh(registered)
    assert registered.name == "Chest prep 0.0.2"
    assert registered.image == "mlcommons/chestxray-tutorial-prep:0.0.2"
    assert registered.config_sha256 == sha256(changed)
    assert actions_of(registered) == ["register", "edit"]
    edit_event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert edit_event.reason == "changed: name, configuration file"


def test_edit_revalidates_and_refuses_a_broken_file(member_client, registered, assets):
    url = f"/containers/{registered.id}/edit"
    page = page_text(member_client.get(url))
    assert 'value="Chest X-ray preparation"' in page  # prefilled
    assets.add_bytes("/prep/container_config.yaml", b"container_type: DockerImage\n")
    response = post_form(member_client, url, edit_form(registered))
    body = page_text(response)
    assert response.status_code == 200
    assert "<code>image</code>: is required" in body
    db.session.refresh(registered)
    assert registered.config_sha256 == sha256(example("prep.yaml"))


def test_edit_with_the_recorded_hash_refuses_a_changed_file(member_client, registered, assets):
    url = f"/containers/{registered.id}/edit"
    changed = example("prep.yaml") + b"# changed\n"
    assets.add_bytes("/prep/container_config.yaml", changed)
    form = edit_form(registered, config_sha256=registered.config_sha256)
    body = page_text(post_form(member_client, url, form))
    assert f"expected {registered.config_sha256}, got {sha256(changed)}" in body


def test_an_operational_container_cannot_be_edited(member_client, member, assets):
    container = make_container(member, "Frozen", operational=True)
    url = f"/containers/{container.id}/edit"
    response = member_client.get(url, follow_redirects=True)
    assert "it is frozen and cannot be edited" in page_text(response)
    response = post_form(member_client, url, prep_links(assets, name="Thawed"), page="/")
    assert response.status_code == 302
    db.session.refresh(container)
    assert container.name == "Frozen"
    assert assets.requests == []  # refused before anything is fetched


def test_another_member_cannot_edit_but_can_view(client, member, other, assets):
    container = make_container(member, "Not yours")
    sign_in_as(client, other)
    assert client.get(f"/containers/{container.id}").status_code == 200
    assert client.get(f"/containers/{container.id}/edit").status_code == 403
    response = post_form(
        client, f"/containers/{container.id}/edit", prep_links(assets, name="Mine now"), page="/"
    )
    assert response.status_code == 403
    db.session.refresh(container)
    assert container.name == "Not yours"


# Make operational


def test_make_operational_asks_first_and_is_one_way(member_client, registered):
    url = f"/containers/{registered.id}/operational"
    confirm = page_text(member_client.get(url))
    assert "Make “Chest X-ray preparation” operational?" in confirm
    assert "it cannot go back to development" in confirm
    db.session.refresh(registered)
    assert registered.state == ContainerState.DEVELOPMENT  # looking is not confirming
    response = post_form(member_client, url, {}, follow_redirects=True)
    assert "is operational: it is now frozen" in page_text(response)
    db.session.refresh(registered)
    assert registered.state == ContainerState.OPERATIONAL
    assert actions_of(registered) == ["register", "make_operational"]
    again = post_form(member_client, url, {}, page="/", follow_redirects=True)
    assert "already operational" in page_text(again)
    edit = member_client.get(f"/containers/{registered.id}/edit", follow_redirects=True)
    assert "frozen and cannot be edited" in page_text(edit)
    assert actions_of(registered) == ["register", "make_operational"]


def test_another_member_cannot_make_it_operational(client, member, other):
    container = make_container(member, "Someone else's")
    sign_in_as(client, other)
    url = f"/containers/{container.id}/operational"
    assert client.get(url).status_code == 403
    assert post_form(client, url, {}, page="/").status_code == 403
    db.session.refresh(container)
    assert container.state == ContainerState.DEVELOPMENT


# Invalidate


def test_owner_invalidates_with_confirmation(member_client, member):
    container = make_container(member, "Old model")
    url = f"/containers/{container.id}/invalidate"
    assert "This cannot be undone" in page_text(member_client.get(url))
    response = post_form(member_client, url, {"reason": "Superseded"}, follow_redirects=True)
    assert "is marked invalid" in page_text(response)
    db.session.refresh(container)
    assert container.is_valid is False
    event_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invalidate"))
    assert (event_row.actor_id, event_row.reason) == (member.id, "Superseded")
    edit = member_client.get(f"/containers/{container.id}/edit", follow_redirects=True)
    assert "marked invalid and can no longer be edited" in page_text(edit)


def test_admin_invalidates_another_members_container_with_a_reason(admin_client, admin, member):
    container = make_container(member, "Leaky model")
    url = f"/containers/{container.id}/invalidate"
    body = page_text(post_form(admin_client, url, {"reason": ""}))
    assert "Please tell the owner why" in body
    db.session.refresh(container)
    assert container.is_valid is True
    post_form(admin_client, url, {"reason": "Trained on the test set"})
    db.session.refresh(container)
    assert container.is_valid is False
    assert actions_of(container) == ["invalidate"]


def test_another_member_cannot_invalidate(client, member, other):
    container = make_container(member, "Protected")
    sign_in_as(client, other)
    url = f"/containers/{container.id}/invalidate"
    assert client.get(url).status_code == 403
    assert post_form(client, url, {"reason": "no"}, page="/").status_code == 403
    db.session.refresh(container)
    assert container.is_valid is True


# Re-host


def test_rehosting_the_same_file_is_accepted(member_client, registered, assets):
    post_form(member_client, f"/containers/{registered.id}/operational", {})
    new_link = assets.add_bytes("/mirror/container_config.yaml", example("prep.yaml"))
    url = f"/containers/{registered.id}/rehost"
    response = post_form(member_client, url, {"file": "config", "url": new_link})
    assert response.status_code == 302
    db.session.refresh(registered)
    assert registered.config_url == new_link
    assert registered.state == ContainerState.OPERATIONAL
    assert actions_of(registered) == ["register", "make_operational", "rehost"]


def test_rehosting_a_different_file_is_refused(member_client, registered, assets):
    post_form(member_client, f"/containers/{registered.id}/operational", {})
    other_bytes = example("prep_parameters.yaml") + b"extra: 1\n"
    new_link = assets.add_bytes("/mirror/parameters.yaml", other_bytes)
    url = f"/containers/{registered.id}/rehost"
    body = page_text(post_form(member_client, url, {"file": "parameters", "url": new_link}))
    assert f"expected hash {registered.parameters_sha256}, got {sha256(other_bytes)}" in body
    db.session.refresh(registered)
    assert registered.parameters_url.endswith("/prep/parameters.yaml")
    assert actions_of(registered) == ["register", "make_operational"]


def test_rehosting_additional_files_needs_a_recorded_hash(member_client, member, assets):
    container = make_container(
        member,
        "Weights",
        operational=True,
        additional_files_url="https://files.example.org/w.tar.gz",
    )
    new_link = assets.add_bytes("/w.tar.gz", b"archive")
    url = f"/containers/{container.id}/rehost"
    body = page_text(post_form(member_client, url, {"file": "additional_files", "url": new_link}))
    assert "have no recorded hash yet" in body
    container.additional_files_sha256 = sha256(b"archive")
    db.session.commit()
    response = post_form(member_client, url, {"file": "additional_files", "url": new_link})
    assert response.status_code == 302
    db.session.refresh(container)
    assert container.additional_files_url == new_link
    assert container.additional_files_sha256 == sha256(b"archive")


def test_another_member_cannot_rehost(client, member, other, assets):
    container = make_container(member, "Hosted", operational=True)
    sign_in_as(client, other)
    url = f"/containers/{container.id}/rehost"
    assert client.get(url).status_code == 403
    data = {"file": "config", "url": assets.url("/x.yaml")}
    assert post_form(client, url, data, page="/").status_code == 403
