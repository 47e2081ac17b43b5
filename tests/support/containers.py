"""Containers for tests: example files, the registration form, records."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.extensions import db
from app.models import Container, ContainerState, Role
from tests.support.http_server import AssetServer
from tests.support.web import post_form

CONFIGS = Path(__file__).resolve().parent.parent / "fixtures" / "configs"
REGISTER = "/containers/register"


def example(name: str) -> bytes:
    """Return the bytes of an example file of tests/fixtures/configs."""
    return (CONFIGS / name).read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prep_links(assets: AssetServer, **overrides: str) -> dict[str, str]:
    """Registration form data for the example data preparator, served by assets."""
    return {
        "name": "Chest X-ray preparation",
        "config_url": assets.add_bytes("/prep/container_config.yaml", example("prep.yaml")),
        "parameters_url": assets.add_bytes(
            "/prep/parameters.yaml", example("prep_parameters.yaml")
        ),
        **overrides,
    }


def register(client, data: dict, **kwargs):
    """Submit the registration form as a browser does."""
    return post_form(client, REGISTER, data, **kwargs)


def make_container(
    owner,
    name: str,
    role: Role = Role.MODEL,
    *,
    operational: bool = False,
    valid: bool = True,
    **fields,
) -> Container:
    """Record a container directly, without fetching anything."""
    config = {
        Role.DATA_PREPARATOR: "prep.yaml",
        Role.MODEL: "model.yaml",
        Role.EVALUATOR: "evaluator.yaml",
    }[role]
    text = example(config)
    values = {
        "owner_id": owner.id,
        "name": name,
        "name_key": name.lower(),
        "role": role,
        "image": f"example/{name.lower().replace(' ', '-')}:1.0",
        "config_url": f"https://files.example.org/{name}/container_config.yaml",
        "config_sha256": sha256(text + name.encode()),
        "config_text": text.decode(),
        "parameters": {"threshold": 0.5},
        "state": ContainerState.OPERATIONAL if operational else ContainerState.DEVELOPMENT,
        "is_valid": valid,
        **fields,
    }
    container = Container(**values)
    db.session.add(container)
    db.session.commit()
    return container


def names_listed(body: str) -> list[str]:
    """Return the container names of the catalogue table, in order."""
    rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    return [
        part.split(">", 1)[1].split("</a>", 1)[0]
        for part in rows.split('<a href="/containers/')[1:]
    ]
