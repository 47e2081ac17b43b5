"""The live-log benchmark's browser: the run page in headless Chromium, each block of lines
timed as the page writes it.

A MutationObserver on the page's log box notes the wall-clock time (to a fraction of a
millisecond) and the text of every block of lines the page's script appends; the bench's
thread collects the notes every 50 ms, so a page reloading at the run's end loses none.
Chromium starts before the runs, signed in with the bench's session, and opens each run's
page as soon as the run is queued.
"""

from __future__ import annotations

import queue
import re
import threading
import time

from _log_clients import RUN_DEADLINE_SECONDS, Arrivals, Line, ordinal_of

CHROMIUM = "/usr/bin/chromium"
COLLECT_SECONDS = 0.05
# Runs in the page before its own script: notes each block appended to the live log.
OBSERVER = """
window.__seen = [];
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("live-log");
  if (!box) { return; }
  new MutationObserver(function (records) {
    var at = performance.timeOrigin + performance.now();
    for (var i = 0; i < records.length; i++) {
      var added = records[i].addedNodes;
      for (var j = 0; j < added.length; j++) {
        window.__seen.push([at, added[j].textContent || ""]);
      }
    }
  }).observe(box, { childList: true });
});
"""
TAKE = "() => { var seen = window.__seen || []; window.__seen = []; return seen; }"


class PageWatcher:
    """Headless Chromium, signed in, started before the run so that opening its page is quick."""

    def __init__(self, base_url: str, cookie: str) -> None:
        self._base_url = base_url
        self._cookie = cookie
        self._page_url: queue.Queue[tuple[str, int, Arrivals, threading.Event]] = queue.Queue()
        self._enough = threading.Event()  # the run has ended: stop waiting for its last lines
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="page-watcher", daemon=True)
        self.error: str | None = None

    def start(self) -> None:
        """Start Chromium; return once it is up (or failed: see `error`)."""
        self._thread.start()
        self._ready.wait(120)

    def watch(self, url: str, last_turn: int, out: Arrivals) -> threading.Event:
        """Open a run page and collect what it writes into `out` until the last turn's lines
        show; return an event set when done. `out.opened_at` says from when it watched."""
        done = threading.Event()
        self._enough.clear()
        self._page_url.put((url, last_turn, out, done))
        return done

    def enough(self) -> None:
        """Stop collecting the current page's lines, even if its last ones never show."""
        self._enough.set()

    def stop(self) -> None:
        """Close the browser."""
        self._page_url.put(("", 0, Arrivals(), threading.Event()))
        self._thread.join(30)

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
                )
                context = browser.new_context()
                context.add_cookies(
                    [
                        {"name": name, "value": value, "url": self._base_url}
                        for name, _, value in (
                            part.partition("=") for part in self._cookie.split("; ")
                        )
                    ]
                )
                context.add_init_script(OBSERVER)
                page = context.new_page()
                page.goto(self._base_url)
                self._ready.set()
                while True:
                    url, last_turn, out, done = self._page_url.get()
                    if not url:
                        break
                    self._follow(page, url, last_turn, out, done, self._enough)
                browser.close()
        except Exception as error:  # reported with the figures, not swallowed
            self.error = f"browser: {error!r}"
        finally:
            self._ready.set()

    @staticmethod
    def _follow(
        page: object,
        url: str,
        last_turn: int,
        out: Arrivals,
        done: threading.Event,
        enough: threading.Event,
    ) -> None:
        try:
            page.goto(url)  # type: ignore[attr-defined]
            out.opened_at = time.time()
            _collect(page, re.compile(rf"^[LF] {last_turn} ", re.MULTILINE), out, enough)
        except Exception as error:
            out.error = f"browser: {error!r}"
        finally:
            done.set()


def _collect(page: object, last: re.Pattern[str], out: Arrivals, enough: threading.Event) -> None:
    """Take the page's notes every COLLECT_SECONDS until the last line has been written (or
    the bench has had enough)."""
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while time.monotonic() < deadline and not enough.is_set():
        time.sleep(COLLECT_SECONDS)
        for at, text in page.evaluate(TAKE):  # type: ignore[attr-defined]
            out.chunks.append((at / 1000, text))
            if last.search(text):
                return


def page_lines(out: Arrivals, fill: int) -> list[Line]:
    """The numbered lines the page wrote, each with the time its block was written."""
    lines: list[Line] = []
    for at, text in out.chunks:
        for item in text.split("\n"):
            known = ordinal_of(item, fill)
            if known is not None:
                lines.append(Line(*known, worker=at, added=at, arrival=at))
    return lines
