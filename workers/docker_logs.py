"""Following a container's log: bytes cut into lines by a reader thread, handed over in order."""

from __future__ import annotations

import codecs
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

# A container printing megabytes without a newline must not grow one string forever: the
# rest of a longer line is read and counted, not kept.
MAX_LINE_CHARS = 16_384
# Bounded so a container that prints faster than lines are stored is slowed, not buffered.
QUEUE_LINES = 10_000
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
        self._lines: queue.Queue[str | None] = queue.Queue(maxsize=QUEUE_LINES)
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
        return (self._ended.is_set() or not self._thread.is_alive()) and self._lines.empty()

    def deliver(self, on_line: Callable[[str], None], budget: float) -> None:
        """Hand waiting lines to on_line for at most `budget` seconds (keeps cancel responsive).

        Returns at once when the stream has ended and nothing is left, rather than waiting
        out the budget: that wait would add to every task's duration.
        """
        until = time.monotonic() + budget
        while True:
            if self._ended.is_set() and self._lines.empty():
                return
            try:
                line = self._lines.get(timeout=max(until - time.monotonic(), 0.01))
            except queue.Empty:
                return
            if line is None:  # the end marker
                return
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
                for line in splitter.feed(chunk):
                    self._put(line)
        except Exception as exc:  # closing the stream under us lands here too
            if not self._stop.is_set():
                self._put(PlatformNote(f"The log stream stopped early: {exc}"))
        for line in splitter.flush():
            self._put(line)
        self._ended.set()
        self._put(None)  # wakes a deliver() waiting for a line that will not come

    def _put(self, line: str | None) -> None:
        while not self._stop.is_set():
            try:
                self._lines.put(line, timeout=PUT_WAIT_SECONDS)
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


def close_attached(stream: object) -> None:
    """Close an attach stream and its HTTP response, which holds the socket's descriptor."""
    if stream is None:
        return
    close_stream(stream)
    # The Docker SDK stream's close() shuts the socket but leaves its `_response` file object
    # (and so the descriptor) open until garbage collection.
    response = getattr(stream, "_response", None)
    try:
        if response is not None:
            response.close()
    except Exception:  # closing twice, or a connection already gone, changes nothing
        log.debug("attach response already closed", exc_info=True)
