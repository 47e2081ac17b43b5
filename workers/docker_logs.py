"""Following a container's log: bytes cut into lines by a reader thread, handed over in order."""

from __future__ import annotations

import codecs
import logging
import queue
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from docker.utils.socket import read as socket_read

log = logging.getLogger(__name__)

# A container printing megabytes without a newline must not grow one string forever: the
# rest of a longer line is read and counted, not kept.
MAX_LINE_CHARS = 16_384
# Bounded so a container that prints faster than lines are stored is slowed, not buffered:
# the reader hands over the lines of one read at a time, at most READ_BYTES of output each.
QUEUE_READS = 32
READ_BYTES = 65_536
# An attached stream's frames: stream type, three zero bytes, payload length (big-endian).
FRAME_HEADER_BYTES = 8
PUT_WAIT_SECONDS = 0.5


class PlatformNote(str):
    """A line the log pump itself writes (not the container): the log marks it as Benchgate's."""


class CutLine(str):
    """A line cut at the length limit; `dropped` says how many characters were left out."""

    dropped: int = 0

    @classmethod
    def of(cls, text: str, dropped: int) -> CutLine:
        line = cls(text)
        line.dropped = dropped
        return line


class LineSplitter:
    """Cut a byte stream into text lines at \\n, \\r or \\r\\n, decoding UTF-8 leniently."""

    def __init__(self, max_chars: int = MAX_LINE_CHARS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._after_cr = False
        self._max = max_chars
        self._dropped = 0  # characters of the current line past the limit

    def feed(self, chunk: bytes) -> list[str]:
        """Take more bytes; return the lines they complete."""
        text = self._decoder.decode(chunk)
        if self._after_cr and text.startswith("\n"):
            # The "\r" ending the last chunk and this "\n" are one line break.
            text = text[1:]
        if text:
            self._after_cr = text.endswith("\r")
        parts = re.split(r"\r\n|\r|\n", self._pending + text)
        self._pending = parts.pop()
        lines: list[str] = []
        for part in parts:
            lines.append(self._line(part))
        self._keep_within_limit()
        return lines

    def flush(self) -> list[str]:
        """Return what is left once the stream has ended."""
        self._pending += self._decoder.decode(b"", final=True)
        self._keep_within_limit()
        if not self._pending and not self._dropped:
            return []
        line = self._line(self._pending)
        self._pending = ""
        return [line]

    def _line(self, text: str) -> str:
        """The first completed line gets the dropped count of the line in progress."""
        if len(text) > self._max:
            self._dropped += len(text) - self._max
            text = text[: self._max]
        if not self._dropped:
            return text
        line, self._dropped = CutLine.of(text, self._dropped), 0
        return line

    def _keep_within_limit(self) -> None:
        if len(self._pending) > self._max:
            self._dropped += len(self._pending) - self._max
            self._pending = self._pending[: self._max]


class FrameReader:
    """Take the payloads out of an attached container's multiplexed stream, read in any pieces.

    The engine sends stdout and stderr as frames (an 8-byte header, then the payload); both
    are kept, in the order they came, like `docker start -a` shows them. A frame's payload
    is passed on as its bytes arrive, so a huge frame is never held whole.
    """

    def __init__(self) -> None:
        self._header = b""
        self._left = 0  # payload bytes of the current frame still to come

    def payload(self, chunk: bytes) -> bytes:
        """Return the payload bytes within a piece of the stream."""
        view = memoryview(chunk)
        parts: list[memoryview] = []
        position, size = 0, len(chunk)
        while position < size:
            if self._left:
                taken = min(self._left, size - position)
                parts.append(view[position : position + taken])
                position += taken
                self._left -= taken
                continue
            needed = FRAME_HEADER_BYTES - len(self._header)
            self._header += bytes(view[position : position + needed])
            position += needed
            if len(self._header) == FRAME_HEADER_BYTES:
                self._left = int.from_bytes(self._header[4:], "big")
                self._header = b""
        return b"".join(parts)


class AttachedOutput:
    """A container's attached output as pieces of payload, one large socket read at a time.

    The Docker SDK's own stream reads each frame's header and payload separately (with a poll
    before each read): four system calls and four waits for the interpreter lock per line a
    container prints, which fall behind a container printing thousands of lines a second.
    """

    def __init__(self, sock: object) -> None:
        self._sock = sock

    def __iter__(self) -> Iterator[bytes]:
        frames = FrameReader()
        while True:
            chunk = socket_read(self._sock, READ_BYTES)
            if not chunk:
                return
            payload = frames.payload(chunk)
            if payload:
                yield payload

    def close(self) -> None:
        """Shut the socket (which wakes a reader blocked on it) and close its response."""
        inner = getattr(self._sock, "_sock", self._sock)  # a SocketIO wraps the socket
        for action in (
            lambda: inner.shutdown(socket.SHUT_RDWR),
            getattr(self._sock, "close", None),
            getattr(getattr(self._sock, "_response", None), "close", None),
        ):
            if action is None:
                continue
            try:
                action()
            except Exception:  # already closed, or the engine hung up first
                log.debug("attached output already closed", exc_info=True)


class LogPump:
    """Read a log stream on a thread; deliver its lines to a callback on the caller's thread."""

    def __init__(
        self,
        stream: Iterable[bytes],
        keep_last: int = 40,
        close: Callable[[], None] | None = None,
        max_line_chars: int = MAX_LINE_CHARS,
    ) -> None:
        self._stream = stream
        self._max_line_chars = max_line_chars
        self._close = close or (lambda: close_stream(stream))
        # The lines of one read go over together: one hand-over per read, not per line.
        self._reads: queue.Queue[list[str] | None] = queue.Queue(maxsize=QUEUE_READS)
        self._taken: deque[str] = deque()  # lines taken from the queue, not yet delivered
        self._ended = threading.Event()  # the reader has put its last line (and None after it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="log-pump", daemon=True)
        self.last_lines: deque[str] = deque(maxlen=keep_last)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    @property
    def finished(self) -> bool:
        """True once the stream has ended and every line has been delivered."""
        reader_done = self._ended.is_set() or not self._thread.is_alive()
        return reader_done and not self._taken and self._reads.empty()

    def deliver(self, on_line: Callable[[str], None], budget: float) -> None:
        """Hand waiting lines to on_line for at most `budget` seconds (keeps cancel responsive).

        Returns at once when the stream has ended and nothing is left, rather than waiting
        out the budget: that wait would add to every task's duration.
        """
        until = time.monotonic() + budget
        while True:
            if not self._taken:
                if self._ended.is_set() and self._reads.empty():
                    return
                try:
                    lines = self._reads.get(timeout=max(until - time.monotonic(), 0.01))
                except queue.Empty:
                    return
                if lines is None:  # the end marker
                    return
                self._taken.extend(lines)
            line = self._taken.popleft()
            self.last_lines.append(line)
            on_line(line)
            if time.monotonic() >= until:
                return

    def close(self) -> None:
        """Stop reading; closing the stream also unblocks a reader waiting inside it."""
        self._stop.set()
        self._close()

    def _read(self) -> None:
        splitter = LineSplitter(self._max_line_chars)
        try:
            for chunk in self._stream:
                lines = splitter.feed(chunk)
                if lines:
                    self._put(lines)
        except Exception as exc:  # closing the stream under us lands here too
            if not self._stop.is_set():
                self._put([PlatformNote(f"The log stream stopped early: {exc}")])
        rest = splitter.flush()
        if rest:
            self._put(rest)
        self._ended.set()
        self._put(None)  # wakes a deliver() waiting for a line that will not come

    def _put(self, lines: list[str] | None) -> None:
        while not self._stop.is_set():
            try:
                self._reads.put(lines, timeout=PUT_WAIT_SECONDS)
                return
            except queue.Full:
                continue


def close_stream(stream: object) -> None:
    """Close a response stream if it can be closed; closing twice is harmless."""
    close = getattr(stream, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # an already finished stream has nothing left to close
        log.debug("stream already closed", exc_info=True)
