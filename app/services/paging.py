"""Pages of lists, in the two shapes readers need.

Numbered pages (`Page`) for the portal's lists, which a person leafs through: `PagedQuery` for
long lists, read in one query built once, and `paginate` for short lists of whole records.
Cursor pages (`keyset_page`) for the API, whose clients walk a list while rows are added: a
cursor never repeats or skips a row, as page numbers would. Both read one row more than they
show to tell whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any

from flask import request
from sqlalchemy import ColumnElement, Row, Select, Subquery, bindparam, func, select

from app.extensions import db

LIKE_ESCAPE = "/"
LAST_PAGE = 1_000_000  # further, the OFFSET would not fit the database's integer


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, where it is, and how many rows the list has in all.

    `total` is None for a list that is not counted (see `PagedQuery.build`); `pages` is then
    as far as the reader can see: this page, and the next one when there is one.
    """

    items: Sequence[Any]
    page: int
    per_page: int
    total: int | None
    more: bool = False  # only for uncounted lists: another page follows

    @property
    def pages(self) -> int:
        if self.total is None:
            return self.page + 1 if self.more else self.page
        return ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def requested_page() -> int:
    """The `page` argument of the request: a whole number from 1; anything else reads as 1.

    A page past the end is read as the list's last (PagedQuery.page), however far past, or
    as the first of an uncounted list.
    """
    page = request.args.get("page", 1, type=int)
    return min(page, LAST_PAGE) if page >= 1 else 1


def paginate(query: Select, *, per_page: int, page: int | None = None) -> Page:
    """Read one counted page of whole records (the request's `page` argument when None).

    For short lists (an account's own notifications or requests, the accounts): the count is
    its own query. Past the end it reads the last page, as PagedQuery does.
    """
    page = page or requested_page()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = max(1, min(page, ceil((total or 0) / per_page)))
    window = query.limit(per_page).offset((page - 1) * per_page)
    return Page(db.session.scalars(window).unique().all(), page, per_page, total or 0)


def keyset_page(query: Select, id_column: Any, *, after: int | None, limit: int) -> CursorPage:
    """Read the rows of query after the id `after`, newest (highest id) first."""
    if after is not None:
        query = query.where(id_column < after)
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    return CursorPage(rows[:limit], more=len(rows) > limit)


@dataclass(frozen=True)
class CursorPage:
    """One page of a list read by cursor: its rows and whether more follow."""

    items: Sequence[Any]
    more: bool

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the next page: the id of this page's last row, or None at the end."""
        return str(self.items[-1].id) if self.more and self.items else None


def like_pattern(fragment: str) -> str:
    """A LIKE pattern (escape character LIKE_ESCAPE) matching text that contains fragment."""
    for special in (LIKE_ESCAPE, "%", "_"):
        fragment = fragment.replace(special, LIKE_ESCAPE + special)
    return f"%{fragment}%"


@dataclass(frozen=True)
class PagedQuery:
    """The query of one list, built once and run for any page with the list's parameters.

    Building a statement and its cache key costs SQLAlchemy more than running it: a list page
    spent a third of its query time there. A PagedQuery is built once per shape of the list
    (which filters it has) and then only gets parameters: the filters' values, `limit` and
    `offset`.
    """

    rows: Select
    count: Select
    per_page_extra: int  # 1 when uncounted: one more row is read to tell whether one follows
    counted: bool

    @classmethod
    def build(
        cls,
        ids: Select,
        order_by: Sequence[ColumnElement[Any]],
        rows: Callable[[Subquery], Select],
        *,
        counted: bool = True,
    ) -> PagedQuery:
        """Build the query that cuts a page from the list's ids and reads only its rows.

        Cutting the page from the ids alone lets PostgreSQL read them from an index, and only
        the page's rows are read in full; an OFFSET over whole joined rows would read every
        row before the page. The total comes in the same query, as a count over the ids (a
        plain count: a count(*) OVER () window costs several times more).

        Args:
            ids: selects the `id` column of the listed rows, filtered, not ordered; filter
                values are bind parameters.
            order_by: the list's order, ending with a unique column so pages never overlap.
            rows: gets the page as a subquery with an `id` column and returns the select of
                the rows to show from the same table as `ids`, joined to the page on `id`.
            counted: False for a list too long to count on every view: a page then only
                knows whether another one follows.
        """
        page_ids = (
            ids.order_by(*order_by)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
            .subquery("page")
        )
        # `rows` selects from the table of `ids`, so the list's order applies to it as it is.
        query = rows(page_ids).order_by(*order_by)
        count = select(func.count()).select_from(ids.subquery())
        if counted:
            query = query.add_columns(count.scalar_subquery().label("total"))
        return cls(query, count, 0 if counted else 1, counted)

    def page(self, params: Mapping[str, Any], *, per_page: int, page: int | None = None) -> Page:
        """Read one page (the request's `page` argument when None).

        Past the end it reads the last page, or the first of an uncounted list, which does
        not know where its end is.
        """
        page = page or requested_page()
        window = {"limit": per_page + self.per_page_extra, "offset": (page - 1) * per_page}
        found: list[Row] = list(db.session.execute(self.rows, {**params, **window}))
        if not self.counted:
            if not found and page > 1:
                return self.page(params, per_page=per_page, page=1)
            return Page(found[:per_page], page, per_page, None, more=len(found) > per_page)
        if found:
            return Page(found, page, per_page, found[0].total)
        total = db.session.scalar(self.count, dict(params))
        if page > 1 and total:
            return self.page(params, per_page=per_page, page=ceil(total / per_page))
        return Page([], page, per_page, total)
