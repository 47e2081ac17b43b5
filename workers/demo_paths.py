"""paths.yaml of an unpacked demo dataset: where its data, labels and metadata folders are.

Keys other than data_path, labels_path and metadata_path are ignored, as MedPerf ignores
them, so demo archives built for MedPerf are accepted unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from workers.yamlsafe import YamlError, load_mapping

PATHS_FILE = "paths.yaml"
REQUIRED_KEYS = ("data_path", "labels_path")
OPTIONAL_KEYS = ("metadata_path",)
_EXAMPLE = "such as demo_data/images"


class DemoPathsError(Exception):
    """paths.yaml is missing or wrong; ``problems`` lists each exact problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class DemoPaths:
    """The demo dataset's folders, resolved and known to lie inside the archive root."""

    data_path: Path
    labels_path: Path
    metadata_path: Path | None


def read_demo_paths(root: Path, *, max_bytes: int = 1 << 20) -> DemoPaths:
    """Read root/paths.yaml and check that each folder it names exists inside ``root``.

    Raises:
        DemoPathsError: paths.yaml is missing, not a mapping, lacks a key, or names a folder
            that is absolute, escapes the archive (by '..' or a link) or does not exist.
    """
    base = root.resolve()
    data = _load(base, max_bytes)
    problems: list[str] = []
    found: dict[str, Path | None] = {}
    for key in REQUIRED_KEYS + OPTIONAL_KEYS:
        value = data.get(key)
        if value is None:
            if key in REQUIRED_KEYS:
                problems.append(
                    f"{PATHS_FILE}: {key} is missing; give the folder relative to the "
                    f"archive root, {_EXAMPLE}"
                )
            found[key] = None
            continue
        found[key] = _folder(base, key, value, problems)
    if problems:
        raise DemoPathsError(problems)
    data_path, labels_path = found["data_path"], found["labels_path"]
    if data_path is None or labels_path is None:
        raise DemoPathsError([f"{PATHS_FILE}: data_path and labels_path are required"])
    return DemoPaths(data_path, labels_path, found["metadata_path"])


def _load(base: Path, max_bytes: int) -> dict:
    """Return the mapping in paths.yaml, refusing a missing, linked-out or unreadable file."""
    path = base / PATHS_FILE
    if not path.exists() and not path.is_symlink():
        raise DemoPathsError(
            [
                f"{PATHS_FILE} is missing from the archive root; build the archive with "
                "tar -czf demo_data.tar.gz demo_data paths.yaml"
            ]
        )
    if not _inside(base, path):
        raise DemoPathsError([f"{PATHS_FILE} is a link to a file outside the archive"])
    if not path.is_file():
        raise DemoPathsError([f"{PATHS_FILE} must be a regular file"])
    try:
        with path.open("rb") as handle:
            # Read one byte past the cap so load_mapping sees (and names) an oversized file.
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DemoPathsError([f"{PATHS_FILE} cannot be read: {exc.strerror}"]) from None
    try:
        return load_mapping(raw, what=PATHS_FILE, max_bytes=max_bytes)
    except YamlError as exc:
        raise DemoPathsError([str(exc)]) from None


def _folder(base: Path, key: str, value: object, problems: list[str]) -> Path | None:
    """Return the resolved folder ``value`` names, or record why it is unacceptable."""
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        problems.append(
            f"{PATHS_FILE}: {key} must be a folder path relative to the archive root, {_EXAMPLE}"
        )
        return None
    # "C:data" is relative on Windows but still names a drive: refuse it with the rest.
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).drive:
        problems.append(
            f"{PATHS_FILE}: {key} '{value}' is an absolute path; give it relative to the "
            f"archive root, {_EXAMPLE}"
        )
        return None
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        problems.append(
            f"{PATHS_FILE}: {key} '{value}' must not contain '..'; it must stay inside the archive"
        )
        return None
    candidate = base / value
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        # RuntimeError: a symbolic link loop.
        problems.append(f"{PATHS_FILE}: {key} '{value}' cannot be followed (a link loop?)")
        return None
    if not resolved.is_relative_to(base):
        problems.append(
            f"{PATHS_FILE}: {key} '{value}' leads outside the archive through a symbolic link"
        )
        return None
    if not resolved.exists():
        problems.append(f"{PATHS_FILE}: {key} '{value}' does not exist in the archive")
        return None
    if not resolved.is_dir():
        problems.append(f"{PATHS_FILE}: {key} '{value}' is a file; it must be a folder")
        return None
    return resolved


def _inside(base: Path, path: Path) -> bool:
    """Tell whether ``path``, with every link followed, lies inside ``base``."""
    try:
        return path.resolve().is_relative_to(base)
    except (OSError, RuntimeError):
        return False
