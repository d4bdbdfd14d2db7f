"""Hand-written "floor" for the ``contacts`` benchmark (see bench/README.md).

A minimal Starlette app serving ``GET /api/v2/contacts.json`` from the benchmark's SQLite
database with aiosqlite and raw SQL (no ORM, no middleware), doing by hand the work the real
endpoint has to do for each request:

1. ``Authorization: Token <key>``: one query for sha256(key) in ``api_tokens`` (joined with its
   workspace, which must be active; the active contact field keys come with it from a subquery).
   Not cached: every request pays for it.
2. One keyset query for the page (``ORDER BY modified_on DESC, id DESC``, bounded by the cursor,
   ``LIMIT size + 1``), each contact with its URNs and groups from correlated JSON subqueries.
3. The same JSON as the app (same keys: uuid, name, status, language, urns, groups, notes,
   fields, flow, created_on, modified_on, last_seen_on, blocked, stopped) with orjson, and
   ``next`` / ``previous`` links carrying a cursor in the app's format
   (``base64url(json([modified_on, id, reverse]))``).

Environment (set by bench/run.py):

* ``BENCH_FLOOR_DB`` (required) - the SQLite database file.
* ``BENCH_FLOOR_PATH`` - route path (default ``/api/v2/contacts.json``).
* ``BENCH_FLOOR_PAGE_SIZE`` - rows per page (default 250, the app's page size).
* ``BENCH_FLOOR_POOL`` - aiosqlite connections (default 10, the app's default pool size).

Served like the other floor: ``uvicorn contacts_floor:app --workers 1 --log-level warning
--no-access-log``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosqlite
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

DB_PATH = os.environ.get("BENCH_FLOOR_DB", "")
PATH = os.environ.get("BENCH_FLOOR_PATH") or "/api/v2/contacts.json"
PAGE_SIZE = int(os.environ.get("BENCH_FLOOR_PAGE_SIZE") or 250)
POOL_SIZE = int(os.environ.get("BENCH_FLOOR_POOL") or 10)

TOKEN_SQL = """
SELECT t.workspace_id,
       (SELECT json_group_array(f.key)
          FROM (SELECT key FROM contact_fields
                 WHERE workspace_id = t.workspace_id AND is_active = 1 ORDER BY id) AS f)
  FROM api_tokens AS t JOIN workspaces AS w ON w.id = t.workspace_id
 WHERE t.token_hash = ? AND t.deleted_on IS NULL AND w.is_active = 1
"""

_PAGE_SQL = """
SELECT c.id, c.uuid, c.name, c.status, c.language, c.fields,
       c.created_on, c.modified_on, c.last_seen_on,
       (SELECT json_group_array(u.scheme || ':' || u.path)
          FROM (SELECT scheme, path FROM contact_urns
                 WHERE contact_id = c.id ORDER BY priority DESC, id) AS u),
       (SELECT json_group_array(json_object('uuid', g.uuid, 'name', g.name))
          FROM (SELECT g.uuid, g.name FROM contact_group_members AS m
                  JOIN contact_groups AS g ON g.id = m.group_id
                 WHERE m.contact_id = c.id AND g.is_active = 1 ORDER BY g.id) AS g)
  FROM contacts AS c
 WHERE c.workspace_id = ? AND c.is_active = 1 {bound}
 ORDER BY c.modified_on {order}, c.id {order}
 LIMIT ?
"""
FIRST_PAGE_SQL = _PAGE_SQL.format(bound="", order="DESC")
AFTER_SQL = _PAGE_SQL.format(bound="AND (c.modified_on, c.id) < (?, ?)", order="DESC")
BEFORE_SQL = _PAGE_SQL.format(bound="AND (c.modified_on, c.id) > (?, ?)", order="ASC")

_WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class Pool:
    """A fixed set of aiosqlite connections, handed out one request at a time."""

    def __init__(self) -> None:
        self.idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.all: list[aiosqlite.Connection] = []

    async def open(self, path: str, size: int) -> None:
        for _ in range(size):
            conn = await aiosqlite.connect(path)
            await conn.execute("PRAGMA busy_timeout=10000")
            self.all.append(conn)
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.all:
            await conn.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self.idle.get()
        try:
            yield conn
        finally:
            self.idle.put_nowait(conn)


POOL = Pool()


def wire_time(value: str | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` (naive UTC, as stored) to ``...THH:MM:SS.ffffffZ``."""
    if value is None:
        return None
    text = value.replace(" ", "T", 1)
    return (text if "." in text else text + ".000000") + "Z"


def encode_cursor(modified_on: str, row_id: int, reverse: bool) -> str:
    raw = orjson.dumps([wire_time(modified_on), row_id, 1 if reverse else 0])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, bool] | None:
    """(stored modified_on, id, reverse), or None if the cursor is not one of ours."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, list) or len(data) != 3:
        return None
    stamp, row_id, reverse = data
    if not (isinstance(stamp, str) and _WIRE_TIME.fullmatch(stamp) and isinstance(row_id, int)):
        return None
    if reverse not in (0, 1):
        return None
    return stamp[:-1].replace("T", " "), row_id, bool(reverse)


def error(status: int, detail: str) -> Response:
    return Response(orjson.dumps({"detail": detail}), status, media_type="application/json")


def contact_wire(row: Sequence[Any], field_keys: Sequence[str]) -> dict[str, Any]:
    _, uuid, name, status, language, fields, created, modified, seen, urns, groups = row
    stored = orjson.loads(fields) if fields else {}
    return {
        "uuid": uuid,
        "name": name,
        "status": status,
        "language": language,
        "urns": orjson.loads(urns),
        "groups": orjson.loads(groups),
        "notes": [],
        "fields": {key: stored.get(key) for key in field_keys},
        "flow": None,
        "created_on": wire_time(created),
        "modified_on": wire_time(modified),
        "last_seen_on": wire_time(seen),
        "blocked": status == "blocked",
        "stopped": status == "stopped",
    }


async def contacts(request: Request) -> Response:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme != "Token" or not key:
        return error(403, "Authentication credentials were not provided.")
    position = None
    if cursor := request.query_params.get("cursor"):
        position = decode_cursor(cursor)
        if position is None:
            return error(404, "Invalid cursor")
    digest = hashlib.sha256(key.encode()).hexdigest()
    async with POOL.connection() as conn:
        async with conn.execute(TOKEN_SQL, (digest,)) as cur:
            token = await cur.fetchone()
        if token is None:
            return error(403, "Invalid token")
        workspace_id, keys_json = token
        params: tuple[Any, ...]
        if position is None:
            sql, params = FIRST_PAGE_SQL, (workspace_id, PAGE_SIZE + 1)
        else:
            sql = BEFORE_SQL if position[2] else AFTER_SQL
            params = (workspace_id, position[0], position[1], PAGE_SIZE + 1)
        async with conn.execute(sql, params) as cur:
            rows = list(await cur.fetchall())
    reverse = position is not None and position[2]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if reverse:
        rows.reverse()

    def link(row: Sequence[Any], backwards: bool) -> str:
        cursor = encode_cursor(row[7], row[0], backwards)
        return str(request.url.include_query_params(cursor=cursor))

    has_next = bool(rows) and (more if not reverse else True)
    has_previous = bool(rows) and (position is not None if not reverse else more)
    field_keys = orjson.loads(keys_json)
    body = {
        "next": link(rows[-1], False) if has_next else None,
        "previous": link(rows[0], True) if has_previous else None,
        "results": [contact_wire(row, field_keys) for row in rows],
    }
    return Response(orjson.dumps(body), media_type="application/json")


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def check_database() -> None:
    if not DB_PATH or not os.path.isfile(DB_PATH):
        raise RuntimeError(f"BENCH_FLOOR_DB must name the benchmark database (got {DB_PATH!r})")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    check_database()
    await POOL.open(DB_PATH, POOL_SIZE)
    try:
        yield
    finally:
        await POOL.close()


app = Starlette(routes=[Route(PATH, contacts), Route("/healthz", healthz)], lifespan=lifespan)
