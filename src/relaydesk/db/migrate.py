"""Run Alembic migrations programmatically (no alembic.ini needed).

Importing Alembic costs ~0.2-0.3 s, paid by every process that migrates on start (``relaydesk
worker``, ``serve`` and the data commands) although the database is nearly always up to date.
So Alembic is imported only inside :func:`upgrade`, and :func:`ensure_upgraded` first reads the
database's revision with one plain query, calling :func:`upgrade` only when it is not
:data:`HEAD_REVISION`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from relaydesk.db.engine import sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The newest migration in migrations/versions/: raise it with every new migration
# (tests/test_migrations.py fails while it is not Alembic's head; until then ensure_upgraded
# runs Alembic every time, see _head_revision_is_newest).
HEAD_REVISION = "0011"

_VERSION_QUERY = "SELECT version_num FROM alembic_version"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    # Config's default ``stdout`` is the sys.stdout of when alembic.config was first imported:
    # now that this happens lazily, that can be a stream swapped in for a while (Typer's
    # CliRunner) and closed since. Pass the current one.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to ``revision``. Blocking: call it outside a running event loop
    (or through ``asyncio.to_thread``)."""
    from alembic import command

    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent for the database file
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The revision recorded in the database's ``alembic_version`` table, or None when there is
    none (no database file, no table yet, or several rows: Alembic branches). Blocking, like
    :func:`upgrade`."""
    path = sqlite_path(database_url)
    rows: list[str] | None
    if path is not None:
        rows = _sqlite_revisions(path)
    elif make_url(database_url).get_backend_name() == "sqlite":
        rows = None  # in-memory: nothing persists between connections
    else:
        rows = asyncio.run(_server_revisions(database_url))
    return rows[0] if rows is not None and len(rows) == 1 else None


def _sqlite_revisions(path: Path) -> list[str] | None:
    """``alembic_version`` rows through the stdlib's sqlite3 (no engine, no event loop)."""
    if not path.exists():  # don't create it: upgrade() will
        return None
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            return [str(row[0]) for row in conn.execute(_VERSION_QUERY)]
        except sqlite3.OperationalError:  # no such table
            return None


async def _server_revisions(database_url: str) -> list[str] | None:
    """``alembic_version`` rows through a one-off connection of the URL's own async driver
    (asyncpg for PostgreSQL: the only driver installed, and the worker loads it anyway)."""
    from sqlalchemy import exc, text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            try:
                result = await conn.execute(text(_VERSION_QUERY))
            except exc.ProgrammingError:  # undefined table
                return None
            return [str(row[0]) for row in result]
    finally:
        await engine.dispose()


def _head_revision_is_newest() -> bool:
    """Whether the newest file in migrations/versions/ (named ``<revision>_<slug>.py``, in
    order) is :data:`HEAD_REVISION`'s. Without this, a new migration added before the constant
    is raised would be skipped on a database at the old head (e.g. a developer's)."""
    names = [p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")]
    newest = max((n for n in names if not n.startswith("_")), default="")
    return newest.startswith(f"{HEAD_REVISION}_")


def ensure_upgraded(database_url: str) -> bool:
    """Upgrade the database to the newest revision unless it is there already (checked without
    importing Alembic). Returns whether :func:`upgrade` ran. Blocking, like :func:`upgrade`."""
    if _head_revision_is_newest() and current_revision(database_url) == HEAD_REVISION:
        return False
    upgrade(database_url)
    return True
