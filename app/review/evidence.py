"""The evidence of a benchmark's test, arranged for the review page."""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import Container, Run
from workers.roles import SLOTS, Role

# Each file a container brings to a test: the run's hash key and the container's link field.
_FILES = (
    ("config", "Configuration file", "config_url"),
    ("parameters", "Parameters file", "parameters_url"),
    ("additional_files", "Additional files", "additional_files_url"),
)


@dataclass(frozen=True)
class InputRow:
    """One input of the test: where it came from and how it was identified."""

    what: str
    url: str | None
    sha256: str | None
    note: str | None = None  # e.g. the image name next to its digest


@dataclass(frozen=True)
class SlotInputs:
    """The inputs one container brought to the test."""

    label: str
    container: Container | None
    rows: list[InputRow]


def slot_inputs(run: Run) -> list[SlotInputs]:
    """List every container's files with the hashes and the image digest the test used."""
    hashes = run.hashes or {}
    digests = run.digests or {}
    result = []
    for slot in SLOTS:
        spec = (run.inputs or {}).get("slots", {}).get(slot) or {}
        container = None
        if spec.get("container_id") is not None:
            container = db.session.get(Container, spec["container_id"])
        rows = []
        for key, words, field in _FILES:
            url = getattr(container, field) if container is not None else spec.get(field)
            sha = hashes.get(f"{slot}.{key}")
            if url or sha:
                rows.append(InputRow(words, url, sha))
        image = container.image if container is not None else None
        rows.append(InputRow("Docker image", None, digests.get(slot), note=image))
        result.append(SlotInputs(Role(slot).benchmark_label, container, rows))
    return result
