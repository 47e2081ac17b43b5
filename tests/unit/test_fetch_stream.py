"""Hashing and writing a download in threads: same bytes, same hash, errors surface, no leaks."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator

import pytest

from workers.fetch_stream import hash_and_write


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_many_chunks_are_written_in_order_and_hashed_as_one() -> None:
    chunks = [os.urandom(size) for size in (1, 70_000, 0, 2**21, 3, 2**20 + 7) * 5]
    out = io.BytesIO()
    digest = hash_and_write(iter(chunks), out)
    body = b"".join(chunks)
    assert out.getvalue() == body
    assert digest == hashlib.sha256(body).hexdigest()
    assert _threads_named("download-") == []


def test_no_chunks_give_the_hash_of_nothing() -> None:
    out = io.BytesIO()
    assert hash_and_write(iter([]), out) == hashlib.sha256(b"").hexdigest()
    assert out.getvalue() == b""


class _ShortWrites(io.RawIOBase):
    """A raw file that takes at most 1000 bytes per write, as an unbuffered file may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        taken = bytes(chunk[:1000])
        self.data += taken
        return len(taken)


def test_short_writes_are_completed() -> None:
    body = os.urandom(12_345)
    out = _ShortWrites()
    hash_and_write(iter([body[:5000], body[5000:]]), out)
    assert bytes(out.data) == body


def test_an_error_while_reading_stops_both_threads_and_propagates() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 4096
        raise RuntimeError("the connection broke")

    with pytest.raises(RuntimeError, match="the connection broke"):
        hash_and_write(chunks(), io.BytesIO())
    assert _threads_named("download-") == []


class _FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        raise OSError(28, "No space left on device")


def test_a_failed_write_stops_the_download_and_is_raised() -> None:
    fed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal fed
        for _ in range(10_000):
            fed += 1
            yield b"y" * 65536

    with pytest.raises(OSError, match="No space left"):
        hash_and_write(chunks(), _FullDisk())
    # The reader stops soon after the writer failed, not after the whole body.
    assert fed < 10_000
    assert _threads_named("download-") == []
