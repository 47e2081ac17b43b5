"""One rendering per list and version (services/page_cache.PageCache.fetch): the threads that
ask for a list another thread is rendering wait for its result, unless it cannot be kept."""

from __future__ import annotations

import threading

import pytest

from app.services.page_cache import PageCache


class Maker:
    """A rendering that counts its calls and, when told to, holds until released."""

    def __init__(self, value: str, *, keep: bool = True, hold: bool = False) -> None:
        self.value, self.keep = value, keep
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self) -> tuple[str, bool]:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10)
        if self.value == "fail":
            raise RuntimeError("the database went away")
        return self.value, self.keep


def in_thread(cache: PageCache, key: tuple, maker: Maker) -> tuple[threading.Thread, list]:
    """Fetch key in a thread of its own; return the thread and the list its answer goes to."""
    got: list = []

    def run() -> None:
        try:
            got.append(cache.fetch(key, maker))
        except RuntimeError as error:
            got.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, got


def test_a_second_thread_waits_for_the_first_ones_rendering():
    cache = PageCache(max_chars=10_000, seconds=60)
    first, second = Maker("<table>v7</table>", hold=True), Maker("rendered twice")
    thread_1, got_1 = in_thread(cache, ("containers", 7), first)
    assert first.started.wait(5)
    thread_2, got_2 = in_thread(cache, ("containers", 7), second)
    thread_2.join(0.2)
    assert thread_2.is_alive()  # waiting, not rendering its own
    first.release.set()
    thread_1.join(5)
    thread_2.join(5)
    assert got_1 == got_2 == ["<table>v7</table>"]
    assert (first.calls, second.calls) == (1, 0)
    assert cache.get(("containers", 7)) == "<table>v7</table>"


def test_another_list_or_version_does_not_wait():
    cache = PageCache(max_chars=10_000, seconds=60)
    held = Maker("version 7", hold=True)
    thread_1, _ = in_thread(cache, ("containers", 7), held)
    assert held.started.wait(5)
    assert cache.fetch(("containers", 8), Maker("version 8")) == "version 8"
    assert cache.fetch(("runs", 7), Maker("runs")) == "runs"
    held.release.set()
    thread_1.join(5)


@pytest.mark.parametrize("outcome", ["fail", "not kept"])
def test_the_waiting_thread_renders_its_own_when_the_first_gives_nothing_to_keep(outcome):
    cache = PageCache(max_chars=10_000, seconds=60)
    first = Maker(outcome, keep=False, hold=True)
    second = Maker("its own")
    thread_1, got_1 = in_thread(cache, ("review", 1, 3), first)
    assert first.started.wait(5)
    thread_2, got_2 = in_thread(cache, ("review", 1, 3), second)
    thread_2.join(0.2)
    first.release.set()
    thread_1.join(5)
    thread_2.join(5)
    assert got_2 == ["its own"] and second.calls == 1
    if outcome == "fail":
        assert isinstance(got_1[0], RuntimeError)
    assert cache.get(("review", 1, 3)) == "its own"  # the first gave nothing to keep


def test_a_kept_list_is_served_without_rendering_and_nothing_is_kept_when_switched_off():
    cache = PageCache(max_chars=10_000, seconds=60)
    assert cache.fetch(("benchmarks", 2), Maker("first")) == "first"
    again = Maker("second")
    assert cache.fetch(("benchmarks", 2), again) == "first" and again.calls == 0
    off = PageCache(max_chars=0, seconds=60)
    makers = [Maker("a"), Maker("b")]
    assert [off.fetch(("benchmarks", 2), m) for m in makers] == ["a", "b"]
