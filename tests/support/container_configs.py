"""Shared helpers for the container configuration tests: example files and quick edits."""

from pathlib import Path

import pytest
import yaml

from workers.container_config import ConfigError, parse_container_config

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"


def fixture(name: str) -> dict:
    """Return one of the example configurations as a fresh dict."""
    return yaml.safe_load((CONFIGS / name).read_text())


def problems_of(data: dict) -> list[str]:
    """Return the problems a configuration is refused with (fails if it is accepted)."""
    with pytest.raises(ConfigError) as caught:
        parse_container_config(yaml.safe_dump(data))
    assert caught.value.problems
    return caught.value.problems


def model(**infer_changes) -> dict:
    """Return the example model with some keys of its infer task replaced."""
    data = fixture("model.yaml")
    data["tasks"]["infer"].update(infer_changes)
    return data


def with_volume(side: str, name: str, volume) -> dict:
    """Return the example model with one volume of its infer task added or replaced."""
    data = fixture("model.yaml")
    data["tasks"]["infer"][side][name] = volume
    return data


def mount(path: str, kind: str = "directory") -> dict:
    """Return a volume entry."""
    return {"mount_path": path, "type": kind}
