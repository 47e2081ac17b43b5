"""Reading what a container wrote, as root, without ever following a link or opening a device.

Outputs may hold only regular files and folders. A symbolic link, a hard link to another file,
a FIFO, a socket or a device node fails the step with a sentence naming its path: hashing a
link's target would make root read whatever the container pointed it at (/etc/shadow, another
run's folder), and MedPerf's prepared-data identity hashes files only, so refusing links is
the simplest rule that stays safe and compatible. Every walk is bounded in bytes (the files'
apparent sizes, so a sparse 1 TiB file is refused before a byte is read), in entries and in
depth, opens each entry relative to its parent's descriptor with O_NOFOLLOW, checks what it
opened with fstat, and lets a cancel through between files and every few MiB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from workers.errors import StepFailed

CHUNK_BYTES = 1 << 20
CANCEL_EVERY_BYTES = 16 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


def _never_canceled() -> None:
    return None


@dataclass(frozen=True)
class OutputLimits:
    """How much of one output the worker agrees to look at, and how it hears of a cancel.

    `cancel_check` raises (RunCanceled in the pipeline) when the run was canceled; it is called
    between files and every CANCEL_EVERY_BYTES, so it must be cheap (the Reporter throttles).
    """

    max_bytes: int = 50 << 30
    max_entries: int = 100_000
    max_depth: int = 32
    cancel_check: Callable[[], None] = field(default=_never_canceled, compare=False)


@dataclass
class OutputFile:
    """A regular file found in an output, open for reading (the walk closes it)."""

    relative: str
    fd: int
    size: int


def refused(what: str, relative: str, problem: str) -> StepFailed:
    """The failure of an output holding something the worker will not read."""
    return StepFailed(
        f"{what}: {relative} {problem}; outputs may hold only regular files and folders.",
        "bad_output",
    )


def _kind(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device node"
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    return "is not a regular file"


def _regular(what: str, relative: str, st: os.stat_result) -> None:
    """Refuse anything but a regular file with a single name."""
    problem = _kind(st.st_mode)
    if problem is None and stat.S_ISDIR(st.st_mode):
        problem = "is a folder where a file was expected"
    if problem is None and st.st_nlink > 1:
        problem = "is a hard link to another file"
    if problem is not None:
        raise refused(what, relative, problem)


class _Budget:
    """Running totals of one walk against its limits."""

    def __init__(self, what: str, limits: OutputLimits) -> None:
        self.what = what
        self.limits = limits
        self.entries = 0
        self.bytes = 0

    def entry(self, relative: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise StepFailed(
                f"{self.what}: holds more than {self.limits.max_entries:,} files and folders "
                f"(reached at {relative}); that is more than this worker accepts.",
                "output_too_large",
            )

    def size(self, relative: str, size: int) -> None:
        self.bytes += size
        if self.bytes > self.limits.max_bytes:
            most = human_size(self.limits.max_bytes)
            raise StepFailed(
                f"{self.what}: {relative} takes the output over {most}, the most this worker "
                "accepts (sizes count as the files declare them, sparse or not).",
                "output_too_large",
            )


def human_size(count: int) -> str:
    """Say a byte count the short way: 16 MiB, 1.5 GiB, 200 bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.4g} {unit}"
    return f"{count} bytes"


@contextmanager
def _open_root(root: Path, what: str) -> Iterator[int]:
    try:
        fd = os.open(root, _DIR_FLAGS)
    except FileNotFoundError:
        raise StepFailed(f"{what}: the output folder is missing.", "no_output") from None
    except OSError:
        st = os.lstat(root)
        raise refused(what, ".", _kind(st.st_mode) or "is not a folder") from None
    try:
        yield fd
    finally:
        os.close(fd)


def walk_output(root: Path, what: str, limits: OutputLimits) -> Iterator[OutputFile]:
    """Yield every regular file under an output folder, open, in a stable order.

    Raises StepFailed naming the path of anything that is not a regular file or folder, or
    when the folder goes over a limit. The caller reads each file from its descriptor while
    the walk holds it; the descriptor is closed when the walk moves on.
    """
    budget = _Budget(what, limits)
    with _open_root(root, what) as fd:
        yield from _walk_dir(fd, "", 1, budget)


def _walk_dir(dir_fd: int, prefix: str, depth: int, budget: _Budget) -> Iterator[OutputFile]:
    limits = budget.limits
    with os.scandir(dir_fd) as listing:
        names = []
        for entry in listing:
            budget.entry(prefix + entry.name)
            names.append(entry.name)
    for name in sorted(names):
        relative = prefix + name
        limits.cancel_check()
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            if depth >= limits.max_depth:
                raise StepFailed(
                    f"{budget.what}: {relative} is nested more than {limits.max_depth} "
                    "folders deep; that is more than this worker accepts.",
                    "output_too_large",
                )
            child = _open_child(name, dir_fd, _DIR_FLAGS, budget.what, relative)
            try:
                if not stat.S_ISDIR(os.fstat(child).st_mode):
                    raise refused(budget.what, relative, "changed while it was read")
                yield from _walk_dir(child, relative + "/", depth + 1, budget)
            finally:
                os.close(child)
            continue
        _regular(budget.what, relative, st)  # refuses links and special files unopened
        fd = _open_child(name, dir_fd, _FILE_FLAGS, budget.what, relative)
        try:
            opened = os.fstat(fd)
            _regular(budget.what, relative, opened)  # what was opened, not what the name was
            budget.size(relative, opened.st_size)
            yield OutputFile(relative, fd, opened.st_size)
        finally:
            os.close(fd)


def _open_child(name: str, dir_fd: int, flags: int, what: str, relative: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as error:
        # ELOOP: swapped for a link after the stat; ENXIO: a socket; anything else, plainly.
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        problem = _kind(st.st_mode) or f"cannot be read ({error.strerror.lower()})"
        raise refused(what, relative, problem) from None


def check_output(root: Path, what: str, limits: OutputLimits) -> int:
    """Check an output folder without reading its files; return how many files it holds."""
    return sum(1 for _ in walk_output(root, what, limits))


def hash_output(root: Path, what: str, limits: OutputLimits) -> list[str]:
    """Return the hex SHA-256 of every file under an output folder, in path order."""
    hashes = []
    for item in walk_output(root, what, limits):
        hashes.append(_sha256_fd(item.fd, limits.cancel_check))
    return hashes


def _sha256_fd(fd: int, cancel_check: Callable[[], None]) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    since_check = 0
    while count := os.readv(fd, [buffer]):
        digest.update(view[:count])
        since_check += count
        if since_check >= CANCEL_EVERY_BYTES:
            since_check = 0
            cancel_check()
    return digest.hexdigest()


def read_output_file(path: Path, what: str, max_bytes: int) -> bytes:
    """Read an output file of at most max_bytes; refuse links, special files and larger files.

    Returns b"" for an empty file. The size is checked on the opened descriptor before any
    byte is read, and the read stops at max_bytes + 1 whatever the file claims.
    """
    try:
        fd = os.open(path, _FILE_FLAGS)
    except FileNotFoundError:
        return b""
    except OSError:
        st = os.lstat(path)
        raise refused(what, path.name, _kind(st.st_mode) or "cannot be read") from None
    try:
        st = os.fstat(fd)
        _regular(what, path.name, st)
        if st.st_size > max_bytes:
            raise StepFailed(
                f"{what}: {path.name} is {human_size(st.st_size)}, more than the "
                f"{human_size(max_bytes)} this worker reads.",
                "output_too_large",
            )
        chunks = []
        left = max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, CHUNK_BYTES))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise StepFailed(
            f"{what}: {path.name} is more than the {human_size(max_bytes)} this worker reads.",
            "output_too_large",
        )
    return data


def check_output_file(path: Path, what: str, max_bytes: int) -> None:
    """Check that an output file is a regular file of at most max_bytes, without reading it."""
    try:
        fd = os.open(path, _FILE_FLAGS)
    except OSError:
        st = os.lstat(path)
        raise refused(what, path.name, _kind(st.st_mode) or "cannot be read") from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    _regular(what, path.name, st)
    if st.st_size > max_bytes:
        raise StepFailed(
            f"{what}: {path.name} is {human_size(st.st_size)}, more than the "
            f"{human_size(max_bytes)} this worker accepts.",
            "output_too_large",
        )


def copy_output(source: Path, target: Path, what: str, limits: OutputLimits) -> None:
    """Copy a folder's regular files into another folder, refusing anything else."""
    target.mkdir(parents=True, exist_ok=True)
    for item in walk_output(source, what, limits):
        destination = target / item.relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(destination, flags, 0o644)
        try:
            while chunk := os.read(item.fd, CHUNK_BYTES):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
                limits.cancel_check()
        finally:
            os.close(out)


def remove_tree(path: Path) -> bool:
    """Delete a run's folder without following any link inside it; return whether it is gone.

    shutil.rmtree works on directory descriptors here (it avoids symlink attacks on Linux). A
    container running as the worker's own user may leave folders its owner cannot list or
    write to (chmod 000); those are given back their owner's permissions and removed too.
    """
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return True
    try:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            os.chmod(path, 0o700)
            fd = os.open(path, _DIR_FLAGS)
            try:
                _unlock_below(fd, 1)
            finally:
                os.close(fd)
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def _unlock_below(dir_fd: int, depth: int) -> None:
    if depth > 4096:  # rmtree's own recursion gives up long before
        return
    with os.scandir(dir_fd) as listing:
        names = [entry.name for entry in listing]
    for name in names:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            continue
        os.chmod(name, 0o700, dir_fd=dir_fd)  # a folder: links were refused just above
        child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            _unlock_below(child, depth + 1)
        finally:
            os.close(child)
