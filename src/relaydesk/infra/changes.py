"""Cross-process cache invalidation.

Changes that affect authentication (a token revoked, a user deleted, a role or plan changed,
a workspace edited) bump the ``auth`` row of ``cache_epochs`` **in the same transaction** and,
on PostgreSQL, ``NOTIFY`` the change channel (delivered on commit). Every process keeps its
auth cache only while the epoch it saw is current:

* SQLite: a private synchronous connection asks ``PRAGMA data_version`` (microseconds, no I/O
  unless another connection committed) and re-reads the epoch row only when the database
  changed. Works across processes on the same file, so revocation is immediate everywhere.
* PostgreSQL: a listening connection receives the NOTIFY; while it is down, caching is off
  (every request reads the database), so a lost notification can never keep a revoked token
  alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import weakref
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from relaydesk.models import CacheEpoch

log = logging.getLogger("relaydesk.changes")

CHANNEL = "relaydesk_cache"
AUTH = "auth"


_BUMPED = "relaydesk_cache_bumped"
_local_watchers: weakref.WeakSet[Any] = weakref.WeakSet()


def _after_commit(session: Session) -> None:
    if session.info.pop(_BUMPED, False):
        for watcher in list(_local_watchers):
            watcher.local_change()


def _after_rollback(session: Session) -> None:
    session.info.pop(_BUMPED, None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


async def bump(session: AsyncSession, name: str = AUTH) -> None:
    """Record a change in the current transaction (visible to others on commit).

    This process's caches are emptied right after the commit (an ``after_commit`` hook), so
    the next request here never waits for the notification to come back."""
    session.info[_BUMPED] = True
    await session.execute(
        update(CacheEpoch).where(CacheEpoch.name == name).values(value=CacheEpoch.value + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name}
        )


class ChangeWatcher(Protocol):
    notified: bool  # learns of changes through callbacks (see PostgresWatcher)

    def version(self) -> int | None:
        """A number that changes after any committed auth change; None = do not cache."""

    def local_change(self) -> None:
        """This process committed a change: forget everything cached."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SQLiteWatcher:
    notified = False  # version() reads the database itself

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._data_version = -1
        self._epoch = -1
        self._version = 0

    def local_change(self) -> None:
        self._version += 1

    async def start(self) -> None:
        _local_watchers.add(self)
        self._conn = sqlite3.connect(
            f"file:{self._path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA busy_timeout=10000")

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def version(self) -> int | None:
        conn = self._conn
        if conn is None:
            return None
        try:
            data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            if data_version != self._data_version:
                row = conn.execute(
                    "SELECT value FROM cache_epochs WHERE name = ?", (AUTH,)
                ).fetchone()
                epoch = int(row[0]) if row else 0
                if epoch != self._epoch:
                    self._epoch = epoch
                    self._version += 1
                self._data_version = data_version
        except sqlite3.Error:
            log.warning("change watcher could not read the database; caching is off")
            self._data_version = -1
            return None
        return self._version


class PostgresWatcher:
    """LISTENs on the change channel; reconnects with backoff; no caching while disconnected.

    A NOTIFY reaches this process before the changing transaction's COMMIT returns to its
    client, so any later request finds it in the socket; the authenticator yields to the
    event loop once (``notified``) so that the notification callback runs before the check
    even when both arrived in the same poll."""

    notified = True

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._version = 0
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def version(self) -> int | None:
        return self._version if self._connected else None

    def _on_notify(self, *_args: Any) -> None:
        self._version += 1

    def local_change(self) -> None:
        self._version += 1

    def _on_lost(self, *_args: Any) -> None:
        self._connected = False

    async def start(self) -> None:
        _local_watchers.add(self)
        self._task = asyncio.create_task(self._run(), name="relaydesk-change-listener")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                async with self._engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    await driver.add_listener(CHANNEL, self._on_notify)
                    driver.add_termination_listener(self._on_lost)
                    self._version += 1  # anything may have changed while we were away
                    self._connected = True
                    delay = 0.5
                    while self._connected and not self._stopping.is_set():
                        await asyncio.sleep(1.0)
                        await driver.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("change listener lost its connection; caching is off until it is back")
            self._connected = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            delay = min(delay * 2, 10.0)


class NoCacheWatcher:
    """For databases we cannot watch: never cache."""

    notified = False

    def version(self) -> int | None:
        return None

    def local_change(self) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def make_watcher(engine: AsyncEngine, sqlite_file: Path | None) -> ChangeWatcher:
    if sqlite_file is not None:
        return SQLiteWatcher(sqlite_file)
    if engine.dialect.name == "postgresql":
        return PostgresWatcher(engine)
    return NoCacheWatcher()
