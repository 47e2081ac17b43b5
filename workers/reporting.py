"""One Reporter per run: step rows in a store, events through a publish callable, the log file.

Log lines are batched into one event, sent as soon as the container pauses (no line for 2 ms),
when 500 lines wait, or when the oldest has waited 5 ms: a chatty container costs one publish
(in production, one Redis command) per batch, a quiet one shows each line at once. A log
event's data is {"lines": [{"step", "src", "line", "t"}, ...]}, `src` being "benchgate" for
the platform's own lines and "container" for what containers print. Every line is cleaned
(safe_text) and cut to a length; each step keeps a bounded share (log_budget). The app
supplies where step rows go, how events are published and how a cancel is noticed
(app.jobs.reporting).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from workers.docker_logs import CutLine, PlatformNote
from workers.errors import PlatformError, RunCanceled, StepFailed
from workers.log_budget import LogLimits, StepBudget, size_words
from workers.log_lines import CONTAINER, PLATFORM, format_line, join_line
from workers.safe_text import clean_line, clean_text

# A batch goes out when the lines stop coming for IDLE_SECONDS, when FLUSH_LINES wait, or
# when the oldest has waited MAX_WAIT_SECONDS: at most one publish per IDLE_SECONDS
# (when lines come just slower than that), a few per MAX_WAIT_SECONDS under a flood.
IDLE_SECONDS = 0.002
MAX_WAIT_SECONDS = 0.005
FLUSH_LINES = 500
TAIL_LINES = 40
CANCEL_POLL_SECONDS = 0.5
# Room for the platform's own lines, which no cap drops, when the log file is read back.
PLATFORM_ALLOWANCE_BYTES = 4 * 2**20
# What a line costs beyond its stored text as a published JSON item ({"step", "src", "t"...}):
# counted against the budget so that many short lines cannot make Redis hold far more.
ITEM_OVERHEAD_BYTES = 48


# Sends one event of the run ("step" or "log" and its JSON-able data) to whoever watches it.
# It should not raise: a line it fails to send is still in the log file.
Publish = Callable[[str, dict[str, Any]], None]


class StepStore(Protocol):
    """Where step rows live (the database through app.services.runs in production)."""

    def update_step(self, name: str, status: str, **fields: Any) -> None: ...

    def cancel_requested(self) -> bool: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Reporter:
    """Records what a run does, step by step, where the page and the database can see it."""

    def __init__(
        self,
        run_id: int,
        publish: Publish,
        store: StepStore,
        log_path: Path,
        *,
        canceled: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.time,
        limits: LogLimits | None = None,
    ) -> None:
        """Open the run's log file and start the thread that sends batches.

        `canceled` is a quick check of the cancel flag, called at most twice a second; without
        one, the store's authoritative (slower) check is used.
        """
        self.run_id = run_id
        self.limits = limits or LogLimits()
        self.publish = publish
        self.store = store
        self._canceled_flag = canceled or store.cancel_requested
        self.log_path = log_path
        self.clock = clock
        self.current_step: str | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # stored form: [step] [source] text
        self._budget: StepBudget[dict[str, Any]] = StepBudget(self.limits.step_bytes)
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # the first line of a batch came
        self._first_at = self._last_at = 0.0  # monotonic times of the batch's first, last line
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._last_cancel_check = 0.0
        self._canceled = False
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._flusher = threading.Thread(
            target=self._flush_loop, daemon=True, name=f"run-{run_id}-log-flusher"
        )
        self._flusher.start()

    # Steps

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run a block as one step: running, then passed, or failed with its reason."""
        with self._lock:
            self._release()
            self.current_step = name
            self._budget = StepBudget(self.limits.step_bytes)
        self.tail.clear()
        started = _utcnow()
        self._step_event(name, "running", started_at=started)
        try:
            yield
        except StepFailed as failure:
            # The tail as this log has it (cleaned, sources marked), not the runner's raw one.
            tail = list(self.tail)
            failure.log_tail = tail
            self.say(failure.message)
            self._step_event(
                name,
                "failed",
                started_at=started,
                finished_at=_utcnow(),
                exit_code=failure.exit_code,
                message=failure.message,
                log_tail="\n".join(tail),
            )
            raise
        except PlatformError as error:
            self.say(error.message)
            self._step_event(
                name,
                "failed",
                started_at=started,
                finished_at=_utcnow(),
                message=error.message,
                log_tail="\n".join(self.tail),
            )
            raise
        except BaseException:
            message = "Benchgate could not finish this step because of an internal error."
            self._step_event(
                name,
                "failed",
                started_at=started,
                finished_at=_utcnow(),
                message=message,
                log_tail="\n".join(self.tail),
            )
            raise
        else:
            self._step_event(name, "passed", started_at=started, finished_at=_utcnow())
        finally:
            self.current_step = None

    def _step_event(self, name: str, status: str, **fields: Any) -> None:
        with self._lock:
            self._release()
        self.flush()
        if fields.get("message"):
            fields["message"] = clean_text(fields["message"])
        self.store.update_step(name, status, **fields)
        data = {
            "name": name,
            "status": status,
            "started_at": None,
            "finished_at": None,
            "exit_code": None,
            "message": None,
        }
        data.update(
            {
                k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in fields.items()
                if k != "log_tail"
            }
        )
        self.publish("step", data)

    # Log lines

    def say(self, text: str) -> None:
        """Record the platform's own words in the current step's log, one line per line."""
        with self._lock:
            self._release()
            for part in text.splitlines() or [""]:
                self._keep(PLATFORM, self._cut(clean_line(part)))
        self._flush_if_due()

    def output(self, text: str) -> None:
        """Record one line a container printed (safe to call from the log thread)."""
        if isinstance(text, PlatformNote):
            self.say(text)
            return
        line = clean_line(text.rstrip("\r\n"))
        line = self._cut(line, text.dropped if isinstance(text, CutLine) else 0)
        step = self.current_step or "run"
        stored = join_line(step, CONTAINER, line)
        self.tail.append(stored)
        entry = {"step": step, "src": CONTAINER, "line": line, "t": self.clock()}
        with self._lock:
            was_over = self._budget.over
            if self._budget.admit(entry, len(stored.encode()) + 1 + ITEM_OVERHEAD_BYTES):
                self._write(entry, stored)
            elif not was_over:
                share = self.limits.step_bytes
                self._keep(
                    PLATFORM,
                    f"This step's output passed its share of the log ({size_words(share)}). "
                    "Benchgate reads on but keeps only the last "
                    f"{size_words(share - share // 2)}, shown when the step ends.",
                )
        self._flush_if_due()

    def _cut(self, line: str, dropped: int = 0) -> str:
        """Cut a line to the length limit, saying how much of it was left out."""
        limit = self.limits.max_line_chars
        if len(line) > limit:
            dropped += len(line) - limit
            line = line[:limit]
        if dropped:
            line += f" [… {dropped:,} more characters of this line left out]"
        return line

    def _keep(self, source: str, line: str) -> None:
        """Write a line now (the caller holds the lock)."""
        step = self.current_step or "run"
        stored = join_line(step, source, line)
        self.tail.append(stored)
        self._write({"step": step, "src": source, "line": line, "t": self.clock()}, stored)

    def _write(self, entry: dict[str, Any], stored: str) -> None:
        self._log_file.write(stored + "\n")
        self._last_at = time.monotonic()
        if not self._pending:
            self._first_at = self._last_at
            self._arrived.notify()
        self._pending.append(entry)

    def _release(self) -> None:
        """Write what the step's budget held back, after a note of what it left out."""
        if not self._budget.holding:
            return
        released = self._budget.release()
        if released.dropped_lines:
            # Sizes were counted with their cost in Redis; the note gives the log's bytes.
            dropped = released.dropped_bytes - released.dropped_lines * ITEM_OVERHEAD_BYTES
            self._keep(
                PLATFORM,
                f"{released.dropped_lines:,} lines ({size_words(dropped)}) "
                "of output were left out here to keep the log within its limit.",
            )
        for entry in released.items:
            self._write(entry, join_line(entry["step"], CONTAINER, entry["line"]))

    def _flush_if_due(self) -> None:
        """Send the batch from the caller's thread when it is full or waited long enough.

        Under a flood the lines never pause, and the flusher thread would wait for the
        interpreter lock behind the thread delivering them; sending here keeps the bound.
        """
        with self._lock:
            due = len(self._pending) >= FLUSH_LINES or (
                self._pending and self._last_at - self._first_at >= MAX_WAIT_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Publish buffered log lines now, as one event, in the order they came."""
        # Taking a batch and sending it happen under one lock: two flushes (the timer's and
        # a full buffer's) must not overtake each other on their way out.
        with self._send_lock:
            with self._lock:
                lines, self._pending = self._pending, []
                self._log_file.flush()
            if lines:
                self.publish("log", {"lines": lines})

    def _flush_loop(self) -> None:
        while self._gather():
            self.flush()

    def _gather(self) -> bool:
        """Wait until a batch is due (see IDLE_SECONDS); False once the Reporter closes."""
        with self._lock:
            while not self._pending:
                if self._stop.is_set():
                    return False
                self._arrived.wait()
            while self._pending and not self._stop.is_set():
                due = min(self._last_at + IDLE_SECONDS, self._first_at + MAX_WAIT_SECONDS)
                left = due - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return not self._stop.is_set()

    # Cancel

    def cancel_requested(self) -> bool:
        """Tell whether the run was canceled; cheap enough to call twice a second."""
        if self._canceled:
            return True
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_POLL_SECONDS:
            return False
        self._last_cancel_check = now
        self._canceled = bool(self._canceled_flag())
        return self._canceled

    def check_canceled(self) -> None:
        """Raise RunCanceled between steps if someone canceled the run."""
        self._last_cancel_check = 0.0
        if self.cancel_requested() or self.store.cancel_requested():
            raise RunCanceled()

    # End

    def close(self) -> str:
        """Stop the flusher, send what is left, and return the full log (tail-capped)."""
        with self._lock:
            self._stop.set()
            self._arrived.notify()
        self._flusher.join(timeout=5)
        with self._lock:
            self._release()
        self.flush()
        self._log_file.close()
        return read_log(self.log_path, self.limits.max_bytes + PLATFORM_ALLOWANCE_BYTES)


def read_log(path: Path, limit: int) -> str:
    """Return a log file's text, keeping only its last `limit` bytes when it is larger."""
    size = path.stat().st_size if path.exists() else 0
    if size <= limit:
        return path.read_text(encoding="utf-8", errors="replace") if size else ""
    with open(path, "rb") as handle:
        handle.seek(size - limit)
        handle.readline()  # start on a whole line
        kept = handle.read().decode("utf-8", errors="replace")
    note = f"The log was {size:,} bytes; only its end is kept here."
    return format_line("run", PLATFORM, note) + "\n" + kept
