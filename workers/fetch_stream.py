"""Hash and write a download in two threads while the next chunk is read from the socket."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

# Chunks waiting for each consumer. With 2 MiB chunks, at most about 12 MiB are in flight:
# four queued and one in hand per consumer (the two consumers share the same chunks), plus
# the one being read.
QUEUE_DEPTH = 4
_DONE = None


class _Consumer:
    """A thread applying one function to each chunk fed to it, in order.

    hashlib and file writes release the interpreter lock on large buffers, so the hasher,
    the writer and the socket reads run at the same time. After a failure the thread keeps
    taking chunks (and drops them), so that feeding it never blocks for good.
    """

    def __init__(self, name: str, apply: Callable[[bytes], object]) -> None:
        self._apply = apply
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_DEPTH)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not _DONE:
            if self.error is None:
                try:
                    self._apply(chunk)
                except BaseException as exc:  # handed to the reading thread by feed/close
                    self.error = exc

    def feed(self, chunk: bytes) -> None:
        """Queue chunk, waiting while the queue is full; raise the thread's error if any."""
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait until every queued chunk is handled; raise the thread's error if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self.error is not None:
            raise self.error


def _write_all(out: BinaryIO) -> Callable[[bytes], None]:
    def write(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:  # an unbuffered file may take less than all of it
            view = view[out.write(view) :]

    return write


def hash_and_write(chunks: Iterable[bytes], out: BinaryIO) -> str:
    """Write every chunk to out and return the lower-case hex SHA-256 of them all.

    The chunks are read in the calling thread (so read timeouts and size caps raise there,
    as before), hashed in one thread and written in another. On any error, both threads
    are stopped before it propagates, so out may be closed and removed at once.
    """
    digest = hashlib.sha256()
    hasher = _Consumer("download-hash", digest.update)
    writer = _Consumer("download-write", _write_all(out))
    try:
        for chunk in chunks:
            hasher.feed(chunk)
            writer.feed(chunk)
    finally:
        # close() both even if one fails, so that neither thread outlives the download.
        try:
            hasher.close()
        finally:
            writer.close()
    return digest.hexdigest()
