"""Registering containers from links, as a member does it in the browser."""

from __future__ import annotations

import html
import re

import pytest
import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Container, ContainerState, Role
from app.settings import reconfigure
from tests.support.containers import REGISTER, example, make_container, prep_links, register, sha256
from tests.support.services import free_port


def count_containers() -> int:
    return db.session.scalar(select(func.count(Container.id)))


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_registering_a_data_preparator_records_its_files_and_role(member_client, member, assets):
    response = register(member_client, prep_links(assets))
    container = db.session.scalar(select(Container))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/containers/{container.id}"
    assert container.owner_id == member.id
    assert container.name == "Chest X-ray preparation"
    assert container.name_key == "chest x-ray preparation"
    assert container.role == Role.DATA_PREPARATOR
    assert container.image == "mlcommons/chestxray-tutorial-prep:0.0.1"
    assert container.config_sha256 == sha256(example("prep.yaml"))
    assert container.config_text == example("prep.yaml").decode()
    assert container.parameters_sha256 == sha256(example("prep_parameters.yaml"))
    assert container.parameters == yaml.safe_load(example("prep_parameters.yaml"))
    assert container.additional_files_url is None
    assert container.state == ContainerState.DEVELOPMENT
    assert container.is_valid is True
    detail = page_text(member_client.get(response.headers["Location"]))
    assert "“Chest X-ray preparation” is registered as a data preparator." in detail


@pytest.mark.parametrize(
    ("config_file", "role"),
    [("model.yaml", Role.MODEL), ("evaluator.yaml", Role.EVALUATOR)],
)
def test_the_role_follows_from_the_tasks(member_client, assets, config_file, role):
    links = {
        "name": f"My {role.value}",
        "config_url": assets.add_bytes("/c.yaml", example(config_file)),
        "parameters_url": assets.add_bytes("/p.yaml", b"threshold: 0.5\n"),
    }
    response = register(member_client, links, follow_redirects=True)
    container = db.session.scalar(select(Container))
    assert container.role == role
    article = "an" if role == Role.EVALUATOR else "a"
    assert f"is registered as {article} {role.label.lower()}." in page_text(response)
    assert container.parameters == {"threshold": 0.5}


def test_additional_files_are_probed_and_their_hash_left_to_the_first_test(member_client, assets):
    archive = assets.add_bytes("/weights.tar.gz", b"\x1f\x8b not really gzip")
    links = {
        "name": "CNN",
        "config_url": assets.add_bytes("/model.yaml", example("model.yaml")),
        "parameters_url": assets.add_bytes("/p.yaml", b""),
        "additional_files_url": archive,
    }
    assert register(member_client, links).status_code == 302
    container = db.session.scalar(select(Container))
    assert container.additional_files_url == archive
    assert container.additional_files_sha256 is None
    assert container.parameters == {}  # an empty parameters file means no parameters
    assert assets.hits("/weights.tar.gz") == 1
    detail = page_text(member_client.get(f"/containers/{container.id}"))
    assert "computed by the first test" in detail


def test_expected_hashes_and_digest_are_kept_in_lower_case(member_client, assets):
    digest = "sha256:" + "AB" * 32
    links = prep_links(
        assets,
        config_sha256=sha256(example("prep.yaml")).upper(),
        additional_files_url=assets.add_bytes("/extra.tgz", b"data"),
        additional_files_sha256="CD" * 32,
        image_digest=digest,
    )
    assert register(member_client, links).status_code == 302
    container = db.session.scalar(select(Container))
    assert container.additional_files_sha256 == "cd" * 32
    assert container.image_digest == digest.lower()


def test_registering_as_operational_freezes_the_container_at_once(member_client, assets):
    register(member_client, prep_links(assets, operational="y"))
    container = db.session.scalar(select(Container))
    assert container.state == ContainerState.OPERATIONAL
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["register", "make_operational"]


def test_an_invalid_configuration_lists_every_problem_with_its_field_path(member_client, assets):
    broken = b"""container_type: Singularity
image: example/model:1.0
tasks:
  infer:
    input_volumes:
      data_path: {mount_path: data, type: directory}
      weights: {mount_path: /weights, type: directory}
    output_volumes:
      output_path: {mount_path: /proc/out, type: directory}
"""
    links = {"name": "Broken", "config_url": assets.add_bytes("/broken.yaml", broken)}
    response = register(member_client, links)
    body = page_text(response)
    assert response.status_code == 200
    assert "The configuration file has 4 problems" in body
    problems = body.split('class="problems"', 1)[1].split("</ul>", 1)[0]
    for path in (
        "container_type",
        "tasks.infer.input_volumes.data_path.mount_path",
        "tasks.infer.input_volumes.weights",
        "tasks.infer.output_volumes.output_path.mount_path",
    ):
        assert f"<code>{path}</code>:" in problems
    assert count_containers() == 0


def test_a_yaml_error_shows_its_line_and_column(member_client, assets):
    bad = b"container_type: DockerImage\nimage: [unclosed\ntasks: {}\n"
    response = register(
        member_client, {"name": "Bad", "config_url": assets.add_bytes("/bad.yaml", bad)}
    )
    body = page_text(response)
    assert "The configuration file is not valid YAML" in body
    assert "(line 3, column" in body
    assert count_containers() == 0


def test_a_configuration_that_mounts_parameters_needs_a_parameters_link(member_client, assets):
    response = register(member_client, prep_links(assets, parameters_url=""))
    body = page_text(response)
    assert "mounts a parameters file (parameters_file in prepare, sanity_check, statistics)" in body
    assert 'id="parameters_url-error"' in body
    assert count_containers() == 0


def test_a_parameters_file_with_values_that_cannot_be_stored_is_refused(member_client, assets):
    params = assets.add_bytes("/p.yaml", b"released: 2024-01-31\nscale: .nan\n")
    response = register(member_client, prep_links(assets, parameters_url=params))
    body = page_text(response)
    assert "<code>released</code>" in body and "<code>scale</code>" in body
    assert count_containers() == 0


def test_a_name_taken_in_another_case_is_refused(member_client, member, assets):
    make_container(member, "Chest X-ray Preparation")
    response = register(member_client, prep_links(assets, name="CHEST X-RAY PREPARATION"))
    body = page_text(response)
    assert "The name “Chest X-ray Preparation” is taken" in body
    assert 'id="name-error"' in body
    assert count_containers() == 1


def test_an_exact_duplicate_under_another_name_is_refused(member_client, assets):
    assert register(member_client, prep_links(assets)).status_code == 302
    response = register(member_client, prep_links(assets, name="Same files, new name"))
    body = page_text(response)
    assert "This is exactly the container “Chest X-ray preparation”" in body
    assert count_containers() == 1


def test_an_unreachable_server_is_refused(member_client, assets):
    dead = f"http://127.0.0.1:{free_port()}/container_config.yaml"
    body = page_text(register(member_client, prep_links(assets, config_url=dead)))
    assert "Benchgate could not download this file: Could not connect to 127.0.0.1." in body
    assert count_containers() == 0


def test_an_error_status_is_shown_next_to_its_link(member_client, assets):
    missing = assets.url("/nothing-here.yaml")
    body = page_text(register(member_client, prep_links(assets, parameters_url=missing)))
    assert "The server answered 404 Not Found." in body.split('id="parameters_url-error"')[1]
    assert count_containers() == 0


def test_a_private_address_is_refused_before_connecting(member_client, assets, app):
    reconfigure(app, FETCH_CONNECT_TIMEOUT=30.0)  # a connection attempt would stall the test
    body = page_text(
        register(member_client, prep_links(assets, config_url="http://10.0.0.1/x.yaml"))
    )
    assert "This address is not allowed: 10.0.0.1 is a private" in body
    assert count_containers() == 0


@pytest.mark.parametrize(
    "link",
    [
        "ftp://files.example.org/c.yaml",
        "file:///etc/passwd",
        "container_config.yaml",
        "https://",
    ],
)
def test_a_link_that_is_not_http_is_refused_in_the_form(member_client, assets, link):
    body = page_text(register(member_client, prep_links(assets, config_url=link)))
    error = body.split('id="config_url-error"')[1].split("</div>")[0]
    assert "This is not a web link: it must start with http:// or https://" in error
    assert assets.hits("/prep/parameters.yaml") == 0  # refused before anything is fetched
    assert count_containers() == 0


def test_a_file_over_the_size_limit_is_refused(member_client, assets, app):
    reconfigure(app, MAX_CONFIG_BYTES=100)
    body = page_text(register(member_client, prep_links(assets)))
    assert "The file is larger than the 100 bytes limit." in body
    assert count_containers() == 0


def test_a_hash_mismatch_names_both_hashes_next_to_the_hash(member_client, assets):
    wrong = "0" * 64
    response = register(member_client, prep_links(assets, config_sha256=wrong))
    body = page_text(response)
    error = body.split('id="config_sha256-error"')[1].split("</div>")[0]
    assert f"expected {wrong}, got {sha256(example('prep.yaml'))}" in error
    assert count_containers() == 0


def test_additional_files_must_be_a_tar_archive_that_answers(member_client, assets):
    zip_link = assets.add_bytes("/weights.zip", b"PK")
    body = page_text(register(member_client, prep_links(assets, additional_files_url=zip_link)))
    assert "must be one archive ending in .tar.gz, .tgz or .tar" in body
    gone = assets.url("/gone.tar.gz")
    body = page_text(register(member_client, prep_links(assets, additional_files_url=gone)))
    assert "Benchgate could not reach this link: The server answered 404 Not Found." in body
    assert count_containers() == 0


def test_what_the_member_typed_is_kept_after_an_error(member_client, assets):
    links = prep_links(
        assets,
        name="Kept name",
        config_url=assets.url("/missing.yaml"),
        config_sha256="ab" * 32,
        additional_files_url="https://files.example.org/w.tar.gz",
        image_digest="sha256:" + "1" * 64,
        operational="y",
    )
    body = page_text(register(member_client, links))
    for value in (
        "Kept name",
        links["config_url"],
        links["parameters_url"],
        "ab" * 32,
        "https://files.example.org/w.tar.gz",
        "sha256:" + "1" * 64,
    ):
        assert f'value="{value}"' in body
    checkbox = re.search(r'<input[^>]*id="operational"[^>]*>', body).group(0)
    assert " checked " in checkbox


def test_form_checks_show_plain_messages_for_each_field(member_client, assets):
    response = register(
        member_client,
        {"name": "", "config_url": "", "config_sha256": "xyz", "image_digest": "latest"},
    )
    body = page_text(response)
    assert "Please give the container a name." in body
    assert "Please paste the link." in body
    assert "A SHA-256 hash is 64 characters" in body
    assert "An image digest is “sha256:” followed by 64 characters" in body
    assert assets.requests == []


def test_the_registration_form_explains_each_field(member_client):
    body = page_text(member_client.get(REGISTER))
    assert "E.g. Chest X-ray preparation 1.0." in body
    assert "https://raw.githubusercontent.com/ana/chest-prep/main/container_config.yaml" in body
    assert "An operational container is frozen: you can no longer edit it" in body
    assert '<label for="config_url">' in body


def test_post_without_csrf_token_gives_400(member_client, assets):
    response = member_client.post(REGISTER, data=prep_links(assets))
    assert response.status_code == 400
    assert count_containers() == 0
    assert assets.requests == []


@pytest.mark.parametrize("url", ["/containers/", REGISTER, "/containers/1"])
def test_anonymous_visitors_are_sent_to_sign_in(client, app, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/account/signin?next=" in response.headers["Location"]


def test_the_home_page_links_to_the_registration(member_client):
    assert f'href="{REGISTER}"' in member_client.get("/").get_data(as_text=True)
