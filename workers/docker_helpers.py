"""Plain helpers for the Docker runner: sizes, users, GPU requests, image digests, host mounts."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from workers import docker_syntax

# Docker's own size syntax (go-units RAMInBytes): "64m", "1g", "1.5GiB", "512MB", "1024".
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_USER = re.compile(r"^(\d+)(?::(\d+))?$")
NOBODY = "65534:65534"


def parse_size(value: str | int) -> int:
    """Turn a Docker size such as "1g" or "512m" (or a byte count) into bytes.

    The same grammar as the configuration check at registration, so what was accepted there
    always runs here.
    """
    try:
        return docker_syntax.parse_size(value)
    except ValueError:
        raise ValueError(f"not a size Docker understands: {value!r} (examples: 64m, 1g)") from None


def container_user(configured: str | None) -> str:
    """Return the user a container runs as: the setting, the worker's ids, or nobody for root."""
    if configured:
        return configured
    uid, gid = os.getuid(), os.getgid()
    # Root inside a container is still root on the host's files it can see.
    return NOBODY if uid == 0 else f"{uid}:{gid}"


def parse_user(user: str) -> tuple[int, int]:
    """Split a numeric "uid[:gid]" into ids (gid -1 keeps a file's group when chowning)."""
    match = _USER.match(user)
    if not match:
        raise ValueError(f"container user must be numeric uid or uid:gid, got {user!r}")
    uid, gid = match.groups()
    return int(uid), int(gid) if gid is not None else -1


def gpus_requested(gpus: str | int | None) -> bool:
    """Tell whether a task's `gpus` run argument asks for at least one GPU."""
    if gpus is None or isinstance(gpus, bool):
        return bool(gpus)
    text = str(gpus).strip().strip("'\"")
    return text not in ("", "0")


def gpu_request(gpus: str | int | None) -> dict[str, Any] | None:
    """Translate MedPerf's `gpus` ("all", a count, "device=0,1") into a Docker device request."""
    if not gpus_requested(gpus):
        return None
    text = str(gpus).strip().strip("'\"")
    request: dict[str, Any] = {"driver": "", "capabilities": [["gpu"]]}
    if text == "all":
        request["count"] = -1
    elif text.isdigit():
        request["count"] = int(text)
    elif text.startswith("device="):
        ids = [part.strip() for part in text[len("device=") :].split(",") if part.strip()]
        if not ids:
            raise ValueError(f"no GPU devices named in gpus={gpus!r}")
        request["device_ids"] = ids
    else:
        raise ValueError(f'gpus must be "all", a count or "device=0,1", got {gpus!r}')
    return request


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (repository, tag, digest)."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, sep, tag = ref.rpartition(":")
    # A colon followed by a slash belongs to a registry port ("host:5000/app"), not a tag.
    if sep and "/" not in tag:
        return name, tag, digest
    return ref, None, digest


def pick_digest(ref: str, repo_digests: Iterable[str], image_id: str) -> str:
    """Return the repository digest matching the reference's repository, else the image id."""
    repository = split_reference(ref)[0]
    candidates = [entry for entry in repo_digests if "@" in entry]
    for entry in candidates:
        if split_reference(entry)[0] == repository:
            return entry.split("@", 1)[1]
    return candidates[0].split("@", 1)[1] if candidates else image_id


_PULL_CAUSES = (
    (
        (
            "no such host",
            "dial tcp",
            "connection refused",
            "i/o timeout",
            "network is unreachable",
            "tls handshake timeout",
            "timeout exceeded",
        ),
        "the registry could not be reached from this worker",
    ),
    (
        ("unauthorized", "denied", "authentication required", "docker login"),
        "the registry refused access: the image may be private or its name misspelled",
    ),
    (
        ("manifest unknown", "not found", "does not exist"),
        "the registry has no image by that name and tag",
    ),
)


def explain_pull_failure(reason: str) -> str:
    """Say in plain words why a pull failed; the engine's own text is never part of it."""
    lowered = reason.lower()
    for needles, plain in _PULL_CAUSES:
        if any(needle in lowered for needle in needles):
            return plain
    return "the registry or the Docker engine refused it"


class HostMount(Protocol):
    """What prepare_mounts needs to know about a mount."""

    host_path: Path
    container_path: str
    read_only: bool
    is_file: bool


def prepare_mounts(mounts: Iterable[HostMount], user: str) -> None:
    """Check inputs exist; create outputs and hand them to the container's user.

    A file output must exist as a file before the container starts, or Docker creates a
    directory in its place. Nothing here follows a symbolic link: the paths are the worker's
    own, but what an earlier task left below them is not.
    """
    uid, gid = parse_user(user)
    for mount in mounts:
        path = mount.host_path
        kind = "file" if mount.is_file else "folder"
        if path.is_symlink():
            raise FileExistsError(f"{kind} for {mount.container_path} is a symbolic link")
        if mount.read_only:
            if not (path.is_file() if mount.is_file else path.is_dir()):
                raise FileNotFoundError(f"input {kind} for {mount.container_path} is missing")
            continue
        if mount.is_file:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(f"output file for {mount.container_path} is a folder")
            path.touch(exist_ok=True)
        else:
            path.mkdir(parents=True, exist_ok=True)
        # Only root may give files away; otherwise they are already ours, as is the container.
        if os.geteuid() == 0:
            _chown_tree(path, uid, gid)


_CHOWN_MAX_DEPTH = 64
_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    """Chown a path and, for a folder, everything below it, never through a link.

    Folders are opened relative to their parent's descriptor with O_NOFOLLOW, so a folder
    swapped for a link cannot lead the walk out of the tree; links are left alone, and so is a
    file with several hard links (one of its other names may be a host file outside the tree).
    """
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or (not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1):
        return
    os.chown(path, uid, gid, follow_symlinks=False)
    if stat.S_ISDIR(st.st_mode):
        fd = os.open(path, _NOFOLLOW_DIR)
        try:
            _chown_below(fd, uid, gid)
        finally:
            os.close(fd)


def _chown_below(dir_fd: int, uid: int, gid: int, depth: int = 1) -> None:
    if depth > _CHOWN_MAX_DEPTH:
        raise OSError(f"an output folder is nested more than {_CHOWN_MAX_DEPTH} folders deep")
    with os.scandir(dir_fd) as listing:
        names = [entry.name for entry in listing]
    for name in names:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode) or (not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1):
            continue
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            child = os.open(name, _NOFOLLOW_DIR, dir_fd=dir_fd)
            try:
                _chown_below(child, uid, gid, depth + 1)
            finally:
                os.close(child)


def plain_reason(exc: BaseException) -> str:
    """Find the plainest explanation in an exception chain (an OS error's text if any)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, OSError) and arg.strerror:
                return arg.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__
