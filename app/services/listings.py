"""The list pages' queries: runs, benchmarks and the review queue, one page per query.

Each list reads only the columns its page shows, as plain rows, with the names of the people it
mentions joined in: whole model objects cost several times more to build than the page takes
to render, and the run and benchmark rows carry logs, results and parameters no list shows.
Each query is built once per shape (functools.cache) and then only gets parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sqlalchemy import ColumnElement, Select, Subquery, bindparam, select

from app.models import Benchmark, BenchmarkStatus, Run, User
from app.names import name_key
from app.services.paging import LIKE_ESCAPE, Page, PagedQuery, like_pattern


def runs_page(user: User, *, everyone: bool, per_page: int) -> Page:
    """Return a page of runs, newest first: the member's own, or everyone's for an admin.

    All runs are not counted: the list grows with every test, and counting it on every view
    would cost more than the page itself. The page knows whether an older one follows.
    """
    return _runs_query(everyone).page({"requester_id": user.id}, per_page=per_page)


@cache
def _runs_query(everyone: bool) -> PagedQuery:
    ids = select(Run.id)
    if not everyone:
        ids = ids.where(Run.requester_id == bindparam("requester_id"))

    def rows(page_ids: Subquery) -> Select:
        return (
            select(
                Run.id,
                Run.kind,
                Run.status,
                Run.inputs,
                Run.created_at,
                Run.started_at,
                Run.finished_at,
                User.display_name.label("requester_name"),
                User.email.label("requester_email"),
            )
            .join(page_ids, page_ids.c.id == Run.id)
            .join(User, User.id == Run.requester_id)
        )

    order = [Run.created_at.desc(), Run.id.desc()]
    return PagedQuery.build(ids, order, rows, counted=not everyone)


def _benchmark_rows(*columns: ColumnElement) -> Callable[[Subquery], Select]:
    """Build the `rows` of a benchmark list: id, name, these columns and the owner's name."""

    def rows(page_ids: Subquery) -> Select:
        return (
            select(Benchmark.id, Benchmark.name, Benchmark.owner_id, *columns)
            .add_columns(User.display_name.label("owner_name"))
            .join(page_ids, page_ids.c.id == Benchmark.id)
            .join(User, User.id == Benchmark.owner_id)
        )

    return rows


def benchmark_catalogue_page(search: str | None, *, per_page: int) -> Page:
    """Return a page of approved benchmarks whose name contains search (any case), by name."""
    search = (search or "").strip()
    query = _catalogue_query(bool(search))
    return query.page({"name_pattern": like_pattern(name_key(search))}, per_page=per_page)


@cache
def _catalogue_query(by_name: bool) -> PagedQuery:
    ids = select(Benchmark.id).where(Benchmark.status == BenchmarkStatus.APPROVED)
    if by_name:
        ids = ids.where(Benchmark.name_key.like(bindparam("name_pattern"), escape=LIKE_ESCAPE))
    rows = _benchmark_rows(Benchmark.description, Benchmark.submitted_at)
    return PagedQuery.build(ids, [Benchmark.name_key, Benchmark.id], rows)


def owned_benchmarks_page(user: User, *, per_page: int) -> Page:
    """Return a page of user's benchmarks, whatever their status, most recently changed first."""
    return _owned_query().page({"owner_id": user.id}, per_page=per_page)


@cache
def _owned_query() -> PagedQuery:
    ids = select(Benchmark.id).where(Benchmark.owner_id == bindparam("owner_id"))
    rows = _benchmark_rows(Benchmark.status, Benchmark.updated_at)
    order = [Benchmark.updated_at.desc(), Benchmark.id.desc()]
    return PagedQuery.build(ids, order, rows)


def review_queue_page(*, per_page: int) -> Page:
    """Return a page of the benchmarks awaiting a decision, the longest waiting first."""
    return _review_query().page({}, per_page=per_page)


@cache
def _review_query() -> PagedQuery:
    ids = select(Benchmark.id).where(Benchmark.status == BenchmarkStatus.PENDING_APPROVAL)
    rows = _benchmark_rows(Benchmark.submitted_at, User.email.label("owner_email"))
    return PagedQuery.build(ids, [Benchmark.submitted_at, Benchmark.id], rows)
