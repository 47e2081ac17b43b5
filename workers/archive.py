"""Safe unpacking of tar archives: every member checked first, caps, all-or-nothing."""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

# Errors a damaged or foreign file raises while tarfile reads it (other OSErrors, such as a
# full disk, are the platform's trouble and are left alone).
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
# More symbolic link hops than this means a loop; the kernel's own limit is 40.
_MAX_LINK_HOPS = 40


class ArchiveError(Exception):
    """An archive was refused or could not be read; the message says why in plain words."""


def _size_words(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


def _escapes_root(path: str, links: dict[str, str]) -> bool:
    """Tell whether path, followed through the archive's own symbolic links, leaves the root.

    The walk is done on the member names, not on disk, so a chain such as a -> . and
    a/a/../.. is caught even though a plain normalisation of the text would accept it.
    """
    pending = _parts(path)
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if not resolved:
                return True
            resolved.pop()
            continue
        target = links.get("/".join([*resolved, part]))
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        # An absolute target leaves the root; a loop never ends anywhere safe either.
        if hops > _MAX_LINK_HOPS or target.startswith("/"):
            return True
        # A link's target is relative to the folder holding the link: `resolved` as it is now.
        pending = _parts(target) + pending
    return False


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Return why a member alone is unacceptable, looking only at its own header."""
    name = member.name
    if name.startswith("/"):
        return f"an absolute path: {name}"
    if ".." in name.split("/"):
        return f"a path that climbs out with '..': {name}"
    if member.issym() or member.islnk():
        if member.linkname.startswith("/"):
            return f"a link to an absolute path: {name} -> {member.linkname}"
        return None
    if member.isdir() or member.isreg():
        return None
    return f"a special file (device, pipe or similar) that is not allowed: {name}"


def _link_key(name: str) -> str:
    return "/".join(_parts(name))


def check_members(
    members: Iterable[tarfile.TarInfo], *, max_members: int, max_bytes: int
) -> list[tarfile.TarInfo]:
    """Check every member of an archive and return them; raise ArchiveError on the first problem.

    Refused: absolute paths, '..', links leading outside the archive, special files, more
    than max_members entries, or more than max_bytes once unpacked.
    """
    accepted: list[tarfile.TarInfo] = []
    total = 0
    for member in members:
        if len(accepted) >= max_members:
            raise ArchiveError(f"it holds more than {max_members} files and folders, the limit")
        problem = _member_problem(member)
        if problem:
            raise ArchiveError(f"it contains {problem}")
        total += member.size if member.isreg() else 0
        if total > max_bytes:
            raise ArchiveError(f"it unpacks to more than the {_size_words(max_bytes)} limit")
        accepted.append(member)
    _check_links(accepted)
    return accepted


def _check_links(members: list[tarfile.TarInfo]) -> None:
    # Symbolic links are followed wherever they occur in a path, so all of them are known
    # before any path is judged; a name that is a link anywhere in the archive counts.
    links = {_link_key(m.name): m.linkname for m in members if m.issym()}
    files_so_far: set[str] = set()
    for member in members:
        name = _link_key(member.name)
        if _escapes_root(member.name, links):
            raise ArchiveError(f"it contains a link that points outside the archive: {name}")
        if member.islnk():
            target = _link_key(member.linkname)
            # Hard links may only point at a regular file that was unpacked before them.
            if target not in files_so_far or _escapes_root(member.linkname, links):
                raise ArchiveError(
                    f"it contains a hard link to a file outside the archive: {name} -> "
                    f"{member.linkname}"
                )
        if member.isreg() or member.islnk():
            files_so_far.add(name)


def _guarded_filter(max_members: int, max_bytes: int) -> Callable[..., tarfile.TarInfo]:
    """Wrap tarfile's "data" filter with running counts of members and bytes written."""
    counted = {"members": 0, "bytes": 0}

    def extraction_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        counted["members"] += 1
        counted["bytes"] += member.size if member.isreg() else 0
        if counted["members"] > max_members or counted["bytes"] > max_bytes:
            raise ArchiveError("it grew beyond its limits while being unpacked")
        member = tarfile.data_filter(member, dest)
        if member.isreg() and member.mode is not None:
            # Containers may run as another user than the worker: they must read the files.
            member = member.replace(mode=member.mode | 0o444, deep=False)
        return member

    return extraction_filter


def safe_unpack(
    archive: Path,
    target: Path,
    *,
    max_members: int = 100_000,
    max_bytes: int = 50 * 2**30,
) -> None:
    """Unpack a .tar, .tar.gz or .tgz archive into target, a folder that must not exist yet.

    Every member is checked before anything is written; the archive is unpacked into a
    temporary folder beside target and renamed into place only when complete. On any
    problem nothing is left behind and ArchiveError explains it in plain words. Files come
    out readable by everyone, since containers may run as another user than the worker.
    """
    target = Path(target)
    if os.path.lexists(target):
        raise FileExistsError(f"the unpacking folder already exists: {target}")
    try:
        tar = tarfile.open(archive, mode="r:*")
    except _READ_ERRORS as exc:
        raise _unreadable(exc) from exc
    with tar:
        try:
            members = check_members(tar, max_members=max_members, max_bytes=max_bytes)
        except _READ_ERRORS as exc:
            raise _unreadable(exc) from exc
        _extract(tar, members, target, max_members, max_bytes)


def _extract(
    tar: tarfile.TarFile,
    members: list[tarfile.TarInfo],
    target: Path,
    max_members: int,
    max_bytes: int,
) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.unpacking-", dir=target.parent))
    try:
        staging.chmod(0o755)
        tar.extractall(staging, members=members, filter=_guarded_filter(max_members, max_bytes))
        staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, tarfile.FilterError):
            # The member checks should have caught it first; tarfile's filter is the backstop.
            raise ArchiveError(f"it contains a member that is not allowed: {exc}") from exc
        if isinstance(exc, _READ_ERRORS):
            raise _unreadable(exc) from exc
        raise


def _unreadable(exc: BaseException) -> ArchiveError:
    reason = str(exc).strip() or type(exc).__name__
    return ArchiveError(f"not a readable tar archive: {reason}")
