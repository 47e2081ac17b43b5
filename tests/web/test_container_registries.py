"""Registering a container whose image comes from a registry the portal does not allow."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Container
from app.settings import reconfigure
from tests.support.banner_server import BannerServer
from tests.support.containers import example, prep_links, register
from tests.support.web import page_text


def _prep_with_image(image: str) -> bytes:
    original = "image: mlcommons/chestxray-tutorial-prep:0.0.1"
    text = example("prep.yaml").decode()
    assert original in text
    return text.replace(original, f"image: '{image}'").encode()


def _count() -> int:
    return db.session.scalar(select(func.count(Container.id)))


@pytest.mark.parametrize(
    "image",
    [
        "127.0.0.1:{port}/x:1",
        "2130706433:{port}/x:1",
        "[::1]:{port}/x:1",
        "[::ffff:7f00:1]:{port}/x:1",
        "localhost/x:1",
        "LOCALHOST:{port}/x:1",
        "169.254.169.254/latest:1",
        "registry.internal/team/prep:1",
    ],
)
def test_an_image_from_a_registry_not_allowed_is_refused_at_registration(
    member_client, assets, image
):
    with BannerServer() as banner:
        image = image.format(port=banner.port)
        config_url = assets.add_bytes("/other/container_config.yaml", _prep_with_image(image))
        body = page_text(register(member_client, prep_links(assets, config_url=config_url)))
        assert banner.connections == 0
    assert f"The image {image} comes from the registry" in body
    assert "which this portal does not allow: images must come from Docker Hub." in body
    assert _count() == 0


def test_a_registry_the_operator_lists_is_accepted_at_registration(member_client, assets, app):
    reconfigure(app, ALLOWED_REGISTRIES="docker.io, registry.internal")
    config_url = assets.add_bytes(
        "/other/container_config.yaml", _prep_with_image("registry.internal/team/prep:1")
    )
    response = register(member_client, prep_links(assets, config_url=config_url))
    assert response.status_code == 302, page_text(response)
    assert db.session.scalar(select(Container.image)) == "registry.internal/team/prep:1"


def test_docker_hub_images_are_accepted_under_every_name_by_default(member_client, assets, app):
    reconfigure(app, ALLOWED_REGISTRIES="docker.io")
    config_url = assets.add_bytes(
        "/other/container_config.yaml", _prep_with_image("index.docker.io/team/prep:1")
    )
    response = register(member_client, prep_links(assets, config_url=config_url))
    assert response.status_code == 302, page_text(response)
