"""Containers through the API: registration checked as the page checks it, owners' changes."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Container, ContainerState, Role
from tests.support.accounts import make_user
from tests.support.api import call, make_token
from tests.support.containers import example, make_container, prep_links, sha256


@pytest.fixture
def token(member):
    return make_token(member)


def test_a_container_registered_through_the_api_is_fetched_and_checked(
    client, member, token, assets
):
    answer = call(client, "POST", "/containers", token, json=prep_links(assets))
    assert answer.status_code == 201, answer.json
    container = db.session.scalar(select(Container))
    assert container.owner_id == member.id and container.role == Role.DATA_PREPARATOR
    assert answer.json["config_sha256"] == sha256(example("prep.yaml"))
    assert answer.json["state"] == "development" and answer.json["parameters"]


def test_a_refused_registration_names_the_fields_as_the_form_does(client, token, assets):
    bad = assets.add_bytes("/bad/container_config.yaml", b"container_type: Singularity\n")
    answer = call(
        client, "POST", "/containers", token, json={"name": "", "config_url": bad, "x": 1}
    )
    assert answer.status_code == 422 and set(answer.json["error"]["fields"]) == {"x"}
    answer = call(client, "POST", "/containers", token, json={"name": "", "config_url": bad})
    assert answer.status_code == 422
    assert answer.json["error"]["fields"]["name"] == ["Please give the container a name."]
    answer = call(client, "POST", "/containers", token, json={"name": "Odd", "config_url": bad})
    assert answer.status_code == 422
    assert "container_type" in " ".join(answer.json["error"]["fields"]["config_url"])
    assert db.session.scalar(select(Container)) is None


def test_the_catalogue_is_filtered_like_its_page_and_paged_by_cursor(client, member, token):
    other = make_user("other@example.org", "Olga")
    mine = make_container(member, "Chest model", Role.MODEL)
    make_container(other, "Lung model", Role.MODEL)
    make_container(member, "Chest prep", Role.DATA_PREPARATOR)
    models = call(client, "GET", "/containers?role=model&limit=1", token).json
    assert [c["name"] for c in models["items"]] == ["Lung model"]
    rest = call(client, "GET", f"/containers?role=model&cursor={models['next_cursor']}", token)
    assert [c["name"] for c in rest.json["items"]] == ["Chest model"]
    searched = call(client, "GET", "/containers?q=CHEST&mine=1", token).json
    assert {c["id"] for c in searched["items"]} >= {mine.id} and len(searched["items"]) == 2


def test_only_the_owner_edits_and_only_while_in_development(client, member, token, assets):
    container = call(client, "POST", "/containers", token, json=prep_links(assets)).json
    stranger = make_token(make_user("s@example.org", "Sam"))
    path = f"/containers/{container['id']}"
    assert call(client, "PATCH", path, stranger, json={"name": "Mine"}).status_code == 403
    renamed = call(client, "PATCH", path, token, json={"name": "Chest prep 2"})
    assert renamed.status_code == 200 and renamed.json["name"] == "Chest prep 2"
    assert renamed.json["config_url"] == container["config_url"]
    frozen = call(client, "POST", f"{path}/operational", token)
    assert frozen.json["state"] == ContainerState.OPERATIONAL.value
    refused = call(client, "PATCH", path, token, json={"name": "Chest prep 3"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "frozen"


def test_an_administrator_invalidates_with_a_reason(client, member, admin):
    container = make_container(member, "Chest model")
    admin_token = make_token(admin)
    path = f"/containers/{container.id}/invalidate"
    no_reason = call(client, "POST", path, admin_token, json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    done = call(client, "POST", path, admin_token, json={"reason": "Leaks the test labels."})
    assert done.status_code == 200 and done.json["is_valid"] is False
    assert call(client, "POST", path, admin_token, json={"reason": "again"}).status_code == 409


def test_a_container_is_rehosted_only_to_the_very_same_file(client, member, token, assets):
    container = call(client, "POST", "/containers", token, json=prep_links(assets)).json
    path = f"/containers/{container['id']}/rehost"
    same = assets.add_bytes("/mirror/container_config.yaml", example("prep.yaml"))
    other = assets.add_bytes("/mirror/other.yaml", example("model.yaml"))
    changed = call(client, "POST", path, token, json={"file": "config", "url": other})
    assert changed.status_code == 422 and "url" in changed.json["error"]["fields"]
    moved = call(client, "POST", path, token, json={"file": "config", "url": same})
    assert moved.status_code == 200 and moved.json["config_url"] == same


def test_a_nul_character_is_refused_before_it_reaches_the_database(client, token):
    query = call(client, "GET", "/containers?q=chest%00", token)
    assert query.status_code == 422 and "q" in query.json["error"]["fields"]
    body = call(client, "POST", "/containers", token, json={"name": "a\x00b", "config_url": "x"})
    assert body.status_code == 422 and "name" in body.json["error"]["fields"]
