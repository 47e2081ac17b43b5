"""Declarative base with a naming convention, so migrations name constraints predictably;
the session class of web requests."""

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from flask import has_request_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import JSON, DateTime, Engine, Enum, MetaData, Text, TypeDecorator, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, registry

from workers.run_labels import site_id
from workers.safe_text import clean_data, clean_text

READ_METHODS = frozenset({"GET", "HEAD"})
_readers: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def installation_site(config: Mapping[str, Any]) -> str:
    """Name this installation on a shared Docker engine, after its database address."""
    return site_id(str(config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL") or ""))


class UTCDateTime(TypeDecorator):
    """A timestamp that always comes back timezone-aware in UTC, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: use app.database.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SafeText(TypeDecorator):
    """Text a container may have written: NUL bytes, lone surrogates and controls escaped.

    PostgreSQL refuses a NUL in text and psycopg cannot encode a lone surrogate; either would
    make the commit fail and the run lose its ending and evidence.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return clean_text(value) if isinstance(value, str) else value


class SafeJSON(TypeDecorator):
    """JSON a container may have written: every string, mapping keys included, made safe.

    PostgreSQL's json type refuses "\\u0000" and lone surrogates as well.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return clean_data(value)


class Base(DeclarativeBase):
    """Base of every model."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


MAX_ID = 2**31 - 1  # the largest value of an INTEGER column, in PostgreSQL as in SQLite


def record_id(value: object) -> int | None:
    """Read an id sent by a browser: ASCII digits within a column's range, else None.

    int() alone takes "²"-like digits (and fails) or numbers no database column holds.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def enum_type(enum_class: type, length: int = 32) -> Enum:
    """Store an enum as its string value (no native type: a new status is a code change)."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class PortalSession(Session):
    """The session of the portal: GET and HEAD requests read without a transaction.

    A page only reads, and in autocommit mode each statement still sees what is committed when
    it starts, as in a READ COMMITTED transaction; what a GET view writes (marking a
    notification read) is committed at once, statement by statement. This saves the BEGIN and
    the ROLLBACK of every page: two of a list page's five round trips to PostgreSQL. Workers
    and commands, outside requests, keep ordinary transactions.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is None and isinstance(engine, Engine) and _reading():
            reader = _readers.get(engine)
            if reader is None:
                # The same engine object every time, so that a request keeps one connection.
                reader = _readers[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
            return reader
        return engine


def _reading() -> bool:
    """Tell whether the current request only reads (GET or HEAD)."""
    return has_request_context() and request.method in READ_METHODS


IDLE_SINCE = "benchgate.idle_since"  # pool record info: when the connection went back


def ping_idle_connections(engine: Engine, after_seconds: float) -> None:
    """Check a pooled connection before use only when it has sat idle for after_seconds.

    The pool's own pre-ping checks every checkout: a round trip to the database on every
    page. A connection handed back a moment ago is alive unless the server restarted in
    between; such a rare case fails one request, and the pool then replaces all its
    connections. A connection left idle longer (the server may have closed it, a firewall
    dropped it, the database restarted overnight) is pinged first and replaced if dead.
    """

    @event.listens_for(engine.pool, "checkin")
    def _went_back(_dbapi_connection, record) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return  # new, or back only a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the database closed this idle connection")
