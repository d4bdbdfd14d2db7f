"""Statements built with SQLAlchemy, compiled once, run with driver-level parameters.

Reads (:func:`fetch_all`): one call on the driver connection. Batched writes
(:func:`execute_many`): one ``executemany`` with parameters converted by the column types' own
bind processors, without SQLAlchemy's per-row parameter handling.

Going through ``AsyncSession.execute`` costs a list page more than its SQL: on SQLite every
statement is four round trips to aiosqlite's thread (cursor, execute, fetch, close) plus the
session's rollback, and on both databases SQLAlchemy's result machinery runs per row. For
read-only list pages (docs/decisions/0005) :func:`fetch_all` instead

1. compiles the statement once per *shape* (SQLAlchemy's own cache key, so two requests that
   differ only in their bound values share one compiled string) and keeps it per dialect;
2. runs the SQL on the driver connection in one call (aiosqlite ``execute_fetchall``: one
   hop to its thread; asyncpg ``fetch``): the session's connection if it already holds one,
   else a pooled connection outside any transaction (a single SELECT reads one consistent
   snapshot on its own), returned at once;
3. returns rows with attribute and index access, each value passed through its column
   type's result processor when read (the values ``Session.execute`` would give; a page's
   documents are embedded as they are, so most values are never converted).

:func:`cached` keeps whole statements per caller-given key (every input they were built
from), so a list request doesn't even build its statement: building one costs more than
running a small one.

Anything this fast path can't express (post-compile parameters such as expanding ``IN``
lists, a statement without a cache key) runs through SQLAlchemy's normal execution.
Writes never come here: services keep one session and one transaction per request.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import greenlet_spawn

MAX_SHAPES = 512  # compiled statements kept per dialect (least recently used dropped)

Processor = Callable[[Any], Any]
S = TypeVar("S", bound=Select[Any])
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    compiled: Any  # sqlalchemy.sql.compiler.SQLCompiler
    binds: tuple[tuple[str, Processor | None], ...]  # positional order
    row: type[Any]  # rows with attribute access (see _row_type)


_shapes: weakref.WeakKeyDictionary[Dialect, OrderedDict[Any, _Prepared | None]] = (
    weakref.WeakKeyDictionary()
)


def _row_type(keys: Sequence[str], processors: Sequence[Processor | None]) -> type[Any]:
    """A row class for one statement: attribute and index access, each value passed through
    its column's result processor when read (a page's rows are mostly embedded as they are,
    so most values are never converted)."""

    def column(index: int, process: Processor | None) -> property:
        if process is None:
            return property(lambda row: row._raw[index])
        return property(lambda row: process(row._raw[index]))

    def getitem(row: Any, index: int) -> Any:
        process = processors[index]
        value = row._raw[index]
        return value if process is None else process(value)

    namespace: dict[str, Any] = {
        "__slots__": ("_raw",),
        "__init__": lambda row, raw: object.__setattr__(row, "_raw", raw),
        "__len__": lambda row: len(row._raw),
        "__getitem__": getitem,
        "__iter__": lambda row: (row[i] for i in range(len(row._raw))),
        "__repr__": lambda row: f"RawRow{tuple(row)!r}",
        "_fields": tuple(keys),
    }
    for index, (key, process) in enumerate(zip(keys, processors, strict=True)):
        if key.isidentifier() and not key.startswith("_") and key not in namespace:
            namespace[key] = column(index, process)
    return type("RawRow", (), namespace)


def _positional_binds(
    compiled: Any, dialect: Dialect
) -> tuple[tuple[str, Processor | None], ...] | None:
    """Each positional parameter's name and its type's bind processor, in the order the SQL
    takes them; None for a named paramstyle."""
    names = compiled.positiontup
    if names is None:
        return None
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    return tuple(
        (
            name,
            by_name[name].type.dialect_impl(dialect).bind_processor(dialect)
            if name in by_name
            else None,
        )
        for name in names
    )


def _remember(cache: OrderedDict[Any, T], key: Any, build: Callable[[], T]) -> T:
    """``cache[key]``, built by ``build()`` the first time; least recently used entries are
    dropped beyond MAX_SHAPES."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = build()
    while len(cache) > MAX_SHAPES:
        cache.popitem(last=False)
    return value


def _compile(stmt: Select[Any], dialect: Dialect, key: Any) -> _Prepared | None:
    # compiled against its cache key, so later statements of the same shape can bind theirs
    compiled: Any = stmt.compile(dialect=dialect, cache_key=key)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None  # rendered per execution by SQLAlchemy: not for this path
    binds = _positional_binds(compiled, dialect)
    if binds is None:  # a named paramstyle: not one of our drivers
        return None
    columns = list(stmt.selected_columns)
    processors = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    keys = [column.key or f"c{i}" for i, column in enumerate(columns)]
    return _Prepared(
        sql=compiled.string, compiled=compiled, binds=binds, row=_row_type(keys, processors)
    )


def _prepare(
    stmt: Select[Any], dialect: Dialect, overrides: Mapping[str, Any] | None
) -> tuple[_Prepared, list[Any]] | None:
    """The compiled shape of ``stmt`` and its positional parameter values, or None when the
    statement has to go through SQLAlchemy's execution."""
    key = stmt._generate_cache_key()
    if key is None:
        return None
    shapes = _shapes.setdefault(dialect, OrderedDict())
    prepared = _remember(shapes, key.key, lambda: _compile(stmt, dialect, key))
    if prepared is None:
        return None
    params = prepared.compiled.construct_params(
        params=overrides, extracted_parameters=key.bindparams
    )
    values = [
        params[name] if process is None else process(params[name])
        for name, process in prepared.binds
    ]
    return prepared, values


async def fetch_all(
    session: AsyncSession, stmt: Select[Any], params: Mapping[str, Any] | None = None
) -> list[Any]:
    """Every row of ``stmt`` (a read-only SELECT) as rows with attribute and index access.
    ``params``: values for the statement's named ``bindparam()`` placeholders.

    Runs on the session's connection if it already holds one (a pool of two SQLite
    connections would otherwise deadlock under concurrent requests each holding one), else on
    a connection of its own from the pool, returned at once."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or (plan := _prepare(stmt, bind.dialect, params)) is None:
        return list((await session.execute(stmt, dict(params) if params else None)).all())
    prepared, values = plan
    if session.in_transaction():
        conn = await session.connection()
        held = await conn.get_raw_connection()
        try:
            rows = await _run(bind.dialect, held.driver_connection, prepared.sql, values)
        except BaseException:
            await conn.invalidate()
            raise
    else:
        raw = await bind.raw_connection()
        try:
            rows = await _run(bind.dialect, raw.driver_connection, prepared.sql, values)
        except BaseException:
            # cancelled or failed mid-call: the driver connection's state is unknown
            raw.invalidate()
            raise
        finally:
            await greenlet_spawn(raw.close)
    make = prepared.row
    return [make(row) for row in rows]


async def _run(dialect: Dialect, driver: Any, sql: str, values: list[Any]) -> Sequence[Any]:
    if dialect.name == "sqlite":  # aiosqlite: one hop to the connection's thread
        return cast("Sequence[Any]", await driver.execute_fetchall(sql, values))
    return cast("Sequence[Any]", await driver.fetch(sql, *values))  # asyncpg


_many: weakref.WeakKeyDictionary[Dialect, OrderedDict[Any, _Prepared]] = weakref.WeakKeyDictionary()


async def execute_many(
    session: AsyncSession, stmt: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``stmt`` (an INSERT, UPDATE or DELETE without RETURNING) once per row of ``rows``,
    in the session's transaction, as one driver ``executemany``.

    Every row has the same keys: the columns of an INSERT (``insert(table)``), or the
    ``bindparam()`` names of an UPDATE/DELETE. Other bound values of the statement (literals
    in its WHERE or SET) are the same for every row. For a batch of hundreds of rows this
    skips SQLAlchemy's per-row parameter handling, which otherwise costs more than the SQL
    (the webhook worker records every delivery this way: docs/decisions/0006)."""
    if not rows:
        return
    conn = await session.connection()
    dialect = conn.dialect
    keys = tuple(rows[0])
    key = stmt._generate_cache_key()
    if key is None:
        await session.execute(stmt, [dict(row) for row in rows])
        return
    shapes = _many.setdefault(dialect, OrderedDict())
    prepared = _remember(shapes, (key.key, keys), lambda: _compile_many(stmt, dialect, key, keys))
    # the statement's own bound values (the same for every row), then each row's
    first = rows[0]
    fixed = prepared.compiled.construct_params(params=first, extracted_parameters=key.bindparams)
    columns: list[tuple[str | None, Any]] = []  # (row key, processor) or (None, fixed value)
    for name, process in prepared.binds:
        if name in first:
            columns.append((name, process))
        else:
            value = fixed[name]
            columns.append((None, value if process is None else process(value)))
    params = [
        tuple(
            [
                value if name is None else row[name] if value is None else value(row[name])
                for name, value in columns
            ]
        )
        for row in rows
    ]
    await conn.exec_driver_sql(prepared.sql, params)


def _compile_many(stmt: UpdateBase, dialect: Dialect, key: Any, keys: tuple[str, ...]) -> _Prepared:
    compiled: Any = stmt.compile(dialect=dialect, cache_key=key, column_keys=list(keys))
    binds = _positional_binds(compiled, dialect)
    if compiled.literal_execute_params or compiled.post_compile_params or binds is None:
        raise ValueError("execute_many: the statement needs SQLAlchemy's own execution")
    return _Prepared(sql=compiled.string, compiled=compiled, binds=binds, row=tuple)


_statements: OrderedDict[Hashable, Any] = OrderedDict()


def cached(key: Hashable, build: Callable[[], S]) -> S:
    """The statement ``build()`` made for ``key`` (every input it depends on), kept for
    reuse: building a statement costs more than running a small one, and a reused statement
    also keeps its memoised cache key. Least recently used dropped beyond MAX_SHAPES."""
    return cast("S", _remember(_statements, key, build))
