"""Rendered lists, kept in each web process while the database they were read from is unchanged.

A busy list page spends most of its time reading its rows and rendering them. A rendered list
is kept under the data version (app.models.data_version) read at the start of the request
that rendered it, and served again to any request that reads the same version. Any
transaction that writes, in a web process, a worker or a command, moves the version on when
it ends, so a change is seen on the next page like before, and nothing is ever invalidated
by hand. Writes that do not go through the portal's sessions (psql, a restored backup) are
seen when a kept list expires, after PAGE_CACHE_SECONDS at most.

What differs between readers of the same list is marked, not rendered: `viewer_mark(owner_id)`
leaves a marker that `kept_html` turns into "(you)" for that owner only, and `csrf_mark()` one
that becomes the reader's CSRF token. What differs between moments is marked too:
`running_since(started_at)` becomes how long a run has been running when the page is served.

When the version moves on, every thread that asks for a list at the new version would render
it at once; one of them renders it and the others of the same process wait for its result
(at most RENDER_WAIT_SECONDS, then they render it themselves).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cachetools import TTLCache
from flask import current_app, g, has_app_context
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import event, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from app.database import PortalSession, utcnow
from app.durations import format_duration
from app.extensions import db
from app.models import DATA_VERSION_ID, DataVersion
from app.settings import settings

log = logging.getLogger(__name__)

CHANGED = "benchgate.wrote"  # Session.info key: this transaction wrote something
EXTENSION = "page_cache"
YOU = Markup(' <span class="muted">(you)</span>')
_MARK = re.compile(r"<!--viewer:(\d+)-->")
CSRF_MARK = "<!--csrf-token-->"  # a form's token is the reader's session's, never kept
_SINCE = re.compile(r"<!--since:(\d{1,12}(?:\.\d{1,6})?)-->")
RENDER_WAIT_SECONDS = 5.0  # how long a thread waits for another's rendering of the same list

VERSION_QUERY = select(DataVersion.version).where(DataVersion.id == DATA_VERSION_ID)


@dataclass(frozen=True)
class Rendered:
    """A rendered list and whether it may be kept."""

    html: str
    keep: bool = True


VALUE_CHARS = 256  # what a kept value other than text is counted as, in characters


def _size(value: object) -> int:
    return len(value) if isinstance(value, str) else VALUE_CHARS


@dataclass
class _Rendering:
    """A value one thread is making for the others that asked for the same key meanwhile."""

    done: threading.Event = field(default_factory=threading.Event)
    value: object = None  # None: the maker failed, or what it made may not be kept


class PageCache:
    """Rendered lists of one process: at most max_chars of text, each kept at most seconds."""

    def __init__(self, max_chars: int, seconds: float) -> None:
        self._entries: TTLCache | None = None
        if max_chars > 0 and seconds > 0:
            self._entries = TTLCache(maxsize=max_chars, ttl=seconds, getsizeof=_size)
        self._lock = threading.Lock()  # gthread serves several requests at once
        self._rendering: dict[Hashable, _Rendering] = {}

    def get(self, key: Hashable) -> object:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, value: object) -> None:
        if self._entries is None or _size(value) > self._entries.maxsize:
            return
        with self._lock:
            self._entries[key] = value

    def fetch(self, key: Hashable, make: Callable[[], tuple[object, bool]]) -> object:
        """Return the value kept under key, or make it: (value, whether it may be kept).

        While one thread makes the value of a key, the others asking for the same key wait
        for it rather than make it again; they make their own when it may not be kept, when
        its making failed, or after RENDER_WAIT_SECONDS.
        """
        if self._entries is None:
            return make()[0]
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                return value
            rendering = self._rendering.get(key)
            mine = rendering is None
            if mine:
                rendering = self._rendering[key] = _Rendering()
        if not mine:
            if rendering.done.wait(RENDER_WAIT_SECONDS) and rendering.value is not None:
                return rendering.value
            return self._make_and_keep(key, make)[0]
        try:
            value, kept = self._make_and_keep(key, make)
            if kept:
                rendering.value = value
            return value
        finally:
            with self._lock:
                self._rendering.pop(key, None)
            rendering.done.set()

    def _make_and_keep(
        self, key: Hashable, make: Callable[[], tuple[object, bool]]
    ) -> tuple[object, bool]:
        """Make the value of key, keep it if it may be; return it and whether it may be kept."""
        value, keep = make()
        keep = keep and value is not None
        if keep:
            self.put(key, value)
        return value, keep


def init_page_cache(app) -> None:
    """Give the app its process's cache of rendered lists."""
    app.extensions[EXTENSION] = PageCache(
        settings(app).page_cache_chars, settings(app).page_cache_seconds
    )
    app.before_request(_forget_data_version)


def _forget_data_version() -> None:
    """Have each request read the version anew, even in an app context that outlives requests."""
    g.pop("data_version", None)


def remember_data_version(version: int | None) -> None:
    """Keep the data version a request read along with its account (one query less)."""
    g.data_version = version


def data_version() -> int | None:
    """The data version this request reads under; None when the row is missing."""
    if "data_version" not in g:
        g.data_version = db.session.scalar(VERSION_QUERY)
    return g.data_version


def viewer_mark(owner_id: int) -> Markup:
    """Mark where a kept list says "(you)" to the reader who owns the row."""
    return Markup(f"<!--viewer:{int(owner_id)}-->")


def csrf_mark() -> Markup:
    """Mark where a kept form carries its CSRF token, filled in for each request."""
    return Markup(CSRF_MARK)


def running_since(started_at: datetime) -> Markup:
    """Mark where a kept list says how long something has been running, filled in when served."""
    return Markup(f"<!--since:{started_at.timestamp():.6f}-->")


def _running_for(mark: re.Match) -> str:
    try:
        started = datetime.fromtimestamp(float(mark[1]), UTC)
    except (OverflowError, OSError, ValueError):
        return format_duration(None)  # not a moment any run started at
    return format_duration((utcnow() - started).total_seconds())


def _served(html: str, viewer_id: int | None) -> Markup:
    """Fill in what a kept list shows the reader at this moment: "(you)", the token, clocks."""
    if CSRF_MARK in html:
        html = html.replace(CSRF_MARK, generate_csrf())
    if "<!--since:" in html:
        html = _SINCE.sub(_running_for, html)
    return Markup(_MARK.sub(lambda mark: YOU if int(mark[1]) == viewer_id else "", html))


def kept_html(key: tuple, render: Callable[[], Rendered], *, viewer_id: int | None) -> Markup:
    """Return the list rendered under key at this data version, rendering it if not kept.

    Args:
        key: everything the rendering depends on besides the data: the list's name, filters,
            page number, and the reader's id when the list is the reader's own.
        render: reads and renders the list.
        viewer_id: the reader, whose own rows say "(you)".
    """
    version = data_version()
    if version is None:
        return _served(render().html, viewer_id)
    cache: PageCache = current_app.extensions[EXTENSION]

    def make() -> tuple[str, bool]:
        rendered = render()
        return rendered.html, rendered.keep

    return _served(cache.fetch((*key, version), make), viewer_id)


def kept_value(key: tuple, read: Callable[[], Hashable | None]) -> Hashable | None:
    """Return what read gives at this data version, reading it only if not kept.

    For small immutable values a page needs before it can use its kept parts, such as the
    fields that decide who may see a record. None (nothing found) is not kept: asking for
    records that do not exist must not push kept pages out.
    """
    version = data_version()
    if version is None:
        return read()
    cache: PageCache = current_app.extensions[EXTENSION]

    def make() -> tuple[Hashable | None, bool]:
        value = read()
        return value, value is not None

    return cache.fetch((*key, version), make)


# Moving the version on. A transaction that wrote notes it in its session; when it ends,
# committed or not, the version moves on in a short transaction of its own, so that the row
# is never locked while the change itself is still being made.


# Tables no kept list shows: writing them (a sign-in, a sign-out) keeps every list.
UNVERSIONED_TABLES = frozenset({"account_sessions"})


@event.listens_for(PortalSession, "after_flush")
def _note_flush(session: Session, _flush_context) -> None:
    written = (*session.new, *session.dirty, *session.deleted)
    if not written or any(_versioned(getattr(obj, "__tablename__", None)) for obj in written):
        session.info[CHANGED] = True


@event.listens_for(PortalSession, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if _versioned(getattr(table, "name", None)):
            state.session.info[CHANGED] = True


def _versioned(table_name: str | None) -> bool:
    return table_name not in UNVERSIONED_TABLES


@event.listens_for(PortalSession, "after_transaction_end")
def _move_on(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.pop(CHANGED, False):
        return
    try:
        bump_data_version(session.get_bind())
    except SQLAlchemyError:
        # Kept lists then show the old data until they expire; the change itself is saved.
        log.warning("could not move the data version on", exc_info=True)
    if has_app_context():
        g.pop("data_version", None)  # what this request renders next must show its change


def bump_data_version(engine) -> None:
    """Move the data version on; put the row back, at a number never used, if it is missing."""
    with engine.begin() as conn:
        moved = conn.execute(
            update(DataVersion)
            .where(DataVersion.id == DATA_VERSION_ID)
            .values(version=DataVersion.version + 1)
        )
    if moved.rowcount:
        return
    # A transaction of its own (no savepoint: the engine may be one reading in autocommit).
    start = secrets.randbits(52)  # random: almost surely no process keeps lists under it
    try:
        with engine.begin() as conn:
            conn.execute(insert(DataVersion).values(id=DATA_VERSION_ID, version=start))
    except IntegrityError:
        pass  # another process put it back at the same moment: that moves it on too
