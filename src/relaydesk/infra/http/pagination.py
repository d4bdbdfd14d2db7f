"""Keyset (cursor) pagination for REST v2 lists, newest first, as RapidPro does.

``{"next": absolute URL or null, "previous": absolute URL or null, "results": [...]}``.
The cursor encodes the (sort value, id) of the edge row and a direction; filters stay in the
URL. Never OFFSET: page 300 costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request

from relaydesk.db import direct
from relaydesk.exceptions import NotFound
from relaydesk.kit import cursors
from relaydesk.kit.parse import parse_bool, parse_datetime
from relaydesk.kit.time import format_datetime

DEFAULT_PAGE_SIZE = 250


def _position(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


def _decode(cursor: str, sort_is_time: bool) -> tuple[Any, int, bool]:
    try:
        (sort_value, row_id), reverse = cursors.decode(cursor, 2)
    except cursors.BadCursor:
        raise NotFound("Invalid cursor") from None
    if not isinstance(row_id, int):
        raise NotFound("Invalid cursor")
    if sort_is_time:
        parsed = parse_datetime(sort_value) if isinstance(sort_value, str) else None
        if parsed is None:
            raise NotFound("Invalid cursor")
        sort_value = parsed
    return sort_value, row_id, reverse


def _item(row: Any) -> Any:
    """An ORM entity for ``select(Model)``; the row itself for ``select(*columns)``."""
    return row[0] if len(row) == 1 else row


def _paged(
    stmt: Select[Any],
    sort: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int],
    ascending: bool,
    bounded: bool,
    page_size: int,
) -> Select[Any]:
    """``stmt`` ordered by (sort, id) and limited to a page and one more row; ``bounded``:
    after the edge given as ``keyset_sort`` / ``keyset_id`` bound values."""
    if bounded:
        key = tuple_(sort, id_column)
        edge = tuple_(
            bindparam("keyset_sort", type_=sort.type), bindparam("keyset_id", type_=id_column.type)
        )
        stmt = stmt.where(key > edge) if ascending else stmt.where(key < edge)
    if ascending:
        stmt = stmt.order_by(sort.asc(), id_column.asc())
    else:
        stmt = stmt.order_by(sort.desc(), id_column.desc())
    return stmt.limit(page_size + 1)


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    request: Request,
    *,
    sort: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int],
    render: Callable[[Sequence[Any]], Awaitable[list[Any]]],
    page_size: int | None = None,
    sort_is_time: bool = True,
    core: bool = False,
    shape: Hashable | None = None,
) -> dict[str, Any]:
    """Run ``stmt`` (already filtered and scoped; selecting rows whose first element carries
    ``sort`` and ``id_column``) one page at a time. ``render`` turns the page's objects into
    wire dicts (one call per page, so it can batch-load related data: no N+1). ``core``: the
    statement selects plain columns (rows, not entities) and only reads: it then runs in one
    hop on the driver connection (:mod:`relaydesk.db.direct`), bypassing the session.
    ``shape`` (with ``core``): every input ``stmt`` was built from, when the caller reuses
    statements (``direct.cached``): the paged statements are then reused too.
    ``page_size``: default ``RELAYDESK_PAGE_SIZE`` (250)."""
    if page_size is None:
        settings = getattr(request.app.state, "settings", None)
        page_size = settings.page_size if settings is not None else DEFAULT_PAGE_SIZE
    cursor = request.query_params.get("cursor")
    position = _decode(cursor, sort_is_time) if cursor else None
    reverse = bool(position and position[2])  # walking back towards the first page
    # ``?reverse=true`` (RapidPro): oldest first instead of newest first
    oldest_first = parse_bool(request.query_params.get("reverse", "")) is True
    ascending = oldest_first != reverse
    bounded = position is not None
    params = {"keyset_sort": position[0], "keyset_id": position[1]} if position else None

    def build() -> Select[Any]:
        return _paged(stmt, sort, id_column, ascending, bounded, page_size)

    if core:
        # a column-only, read-only select: one hop on a pooled driver connection
        # (relaydesk.db.direct); with a ``shape``, the paged statement is built once
        paged = (
            build()
            if shape is None
            else direct.cached((shape, ascending, bounded, page_size), build)
        )
        rows = await direct.fetch_all(session, paged, params)
    else:
        rows = list((await session.execute(build(), params)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if reverse:
        rows.reverse()

    # the page's URL with its other parameters kept, then the cursor (base64url: nothing to
    # escape); built once, not once per link
    other = str(request.url.remove_query_params("cursor"))
    prefix = other + ("&" if "?" in other else "?") + "cursor="

    def link(row: Any, backwards: bool) -> str:
        obj = _item(row)
        edge = [_position(getattr(obj, sort.key)), getattr(obj, id_column.key)]
        return prefix + cursors.encode(edge, backwards)

    has_next = bool(rows) and (more if not reverse else True)
    has_previous = bool(rows) and (position is not None if not reverse else more)
    return {
        "next": link(rows[-1], False) if has_next else None,
        "previous": link(rows[0], True) if has_previous else None,
        "results": await render([_item(row) for row in rows]) if rows else [],
    }
