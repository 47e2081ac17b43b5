"""The toy benchmark of the worker and browser tests: its configs, a demo archive, its links."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.support.http_server import AssetServer

TRIO_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "trio"

# Values 0-100 with labels; the model says positive from 50 up, so 3 of 4 are right.
DEMO_CASES = {
    "case1": (80, "positive"),
    "case2": (20, "negative"),
    "case3": (55, "negative"),
    "case4": (90, "positive"),
}


def demo_archive(
    cases: dict[str, tuple[int, str]] = DEMO_CASES,
    *,
    paths_yaml: str | None = None,
    with_metadata: bool = False,
) -> bytes:
    """Build a MedPerf demo dataset: tar.gz of demo_data/ and paths.yaml at its root."""
    files = {}
    for name, (value, label) in cases.items():
        files[f"demo_data/images/{name}.txt"] = f"{value}\n".encode()
        files[f"demo_data/labels/{name}.txt"] = f"{label}\n".encode()
    if with_metadata:
        files["demo_data/metadata/source.txt"] = b"synthetic\n"
    if paths_yaml is None:
        paths_yaml = "data_path: demo_data/images\nlabels_path: demo_data/labels\n"
        if with_metadata:
            paths_yaml += "metadata_path: demo_data/metadata\n"
    files["paths.yaml"] = paths_yaml.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def serve_trio(server: AssetServer, **overrides: bytes) -> dict[str, str]:
    """Put the trio's files on the asset server; return their links by name.

    Names: prep, prep_params, model, evaluator, demo. Overrides replace a file's bytes.
    """
    files = {
        "prep": (TRIO_DIR / "prep.yaml").read_bytes(),
        "prep_params": (TRIO_DIR / "prep_parameters.yaml").read_bytes(),
        "model": (TRIO_DIR / "model.yaml").read_bytes(),
        "evaluator": (TRIO_DIR / "evaluator.yaml").read_bytes(),
        "demo": demo_archive(),
    }
    files.update(overrides)
    names = {
        "prep": "prep/container_config.yaml",
        "prep_params": "prep/parameters.yaml",
        "model": "model/container_config.yaml",
        "evaluator": "evaluator/container_config.yaml",
        "demo": "demo/demo_data.tar.gz",
    }
    return {key: server.add_bytes("/" + names[key], data) for key, data in files.items()}


@pytest.fixture
def trio(assets, test_images) -> dict[str, str]:
    """Links to the passing toy benchmark: prep, prep_params, model, evaluator, demo."""
    return serve_trio(assets)
