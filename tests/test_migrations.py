"""The Alembic migrations produce exactly the models' schema, on both databases; processes
that migrate on start skip Alembic when the database is already at ``HEAD_REVISION``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from relaydesk.db import migrate
from relaydesk.db.engine import sqlite_path
from relaydesk.db.migrate import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    ensure_upgraded,
    upgrade,
)
from tests.services import throwaway_pg_database

T = TypeVar("T")


def test_models_match_migrations(database_url: str) -> None:
    errors: list[BaseException] = []

    def check() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes can't be reflected/compared
            try:
                command.check(alembic_config(database_url))
            except BaseException as exc:
                errors.append(exc)

    thread = threading.Thread(target=check)  # Alembic's env runs its own event loop
    thread.start()
    thread.join()
    if errors:
        pytest.fail(f"models and migrations differ: {errors[0]}")


def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` off pytest's event loop (Alembic's env, and ``current_revision`` on
    PostgreSQL, run their own); re-raise what it raised."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (SQLite: not even created yet) of ``backend``."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        with throwaway_pg_database() as url:
            yield url


def test_head_revision_is_alembics_head() -> None:
    """``HEAD_REVISION`` names the newest migration: raise it when you add one."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [HEAD_REVISION]


def test_up_to_date_database_skips_alembic(
    database_url: str, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _in_thread(current_revision, database_url) == HEAD_REVISION

    # In a fresh interpreter: Alembic is not even imported.
    code = (
        "import sys\n"
        "from relaydesk.db.migrate import ensure_upgraded\n"
        "ran = ensure_upgraded(sys.argv[1])\n"
        "print(ran, sorted(m for m in sys.modules if m.partition('.')[0] == 'alembic'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, database_url],
        env={**os.environ, "PYTHONPATH": str(repo_root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "False []"

    # In this one: upgrade() is not called.
    def fail(*args: Any) -> None:
        pytest.fail(f"upgrade{args} called on an up-to-date database")

    monkeypatch.setattr(migrate, "upgrade", fail)
    assert _in_thread(migrate.ensure_upgraded, database_url) is False


def test_out_of_date_database_is_upgraded(fresh_url: str) -> None:
    _in_thread(upgrade, fresh_url, "0004")
    assert _in_thread(current_revision, fresh_url) == "0004"

    assert _in_thread(ensure_upgraded, fresh_url) is True
    assert _in_thread(current_revision, fresh_url) == HEAD_REVISION
    assert _in_thread(ensure_upgraded, fresh_url) is False


def test_forgotten_head_revision_never_skips_a_migration(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new migration file with ``HEAD_REVISION`` not raised yet: a database at the old head
    is still upgraded (Alembic runs) rather than taken as up to date."""
    script = ScriptDirectory.from_config(alembic_config(fresh_url))
    previous = script.get_revision(HEAD_REVISION).down_revision
    assert isinstance(previous, str)
    _in_thread(upgrade, fresh_url, previous)
    monkeypatch.setattr(migrate, "HEAD_REVISION", previous)  # as if HEAD were the new one

    assert _in_thread(ensure_upgraded, fresh_url) is True
    monkeypatch.undo()
    assert _in_thread(current_revision, fresh_url) == HEAD_REVISION


def test_new_database_is_created_and_upgraded(fresh_url: str) -> None:
    path = sqlite_path(fresh_url)
    assert _in_thread(current_revision, fresh_url) is None  # no file / no alembic_version
    assert path is None or not path.exists()  # looking did not create the file

    assert _in_thread(ensure_upgraded, fresh_url) is True
    assert _in_thread(current_revision, fresh_url) == HEAD_REVISION


def _table_names(url: str) -> set[str]:
    """The database's tables (in its own event loop: call it through ``_in_thread``)."""

    async def read() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(read())


def test_properties_migration_downgrades_and_upgrades_again(fresh_url: str) -> None:
    """0010 (properties, departments, members, invitations) is reversible."""
    tables = {"properties", "departments", "property_members", "property_invitations"}
    _in_thread(upgrade, fresh_url)
    assert tables <= _in_thread(_table_names, fresh_url)
    _in_thread(command.downgrade, alembic_config(fresh_url), "0009")
    assert _in_thread(current_revision, fresh_url) == "0009"
    assert not tables & _in_thread(_table_names, fresh_url)
    _in_thread(upgrade, fresh_url)
    assert _in_thread(current_revision, fresh_url) == HEAD_REVISION
    assert tables <= _in_thread(_table_names, fresh_url)


def test_chats_migration_downgrades_and_upgrades_again(fresh_url: str) -> None:
    """0011 (visitors, chats, chat tags and messages) is reversible."""
    tables = {"visitors", "chats", "chat_tags", "chat_messages"}
    _in_thread(upgrade, fresh_url)
    assert tables <= _in_thread(_table_names, fresh_url)
    _in_thread(command.downgrade, alembic_config(fresh_url), "0010")
    assert _in_thread(current_revision, fresh_url) == "0010"
    assert not tables & _in_thread(_table_names, fresh_url)
    _in_thread(upgrade, fresh_url)
    assert _in_thread(current_revision, fresh_url) == HEAD_REVISION
    assert tables <= _in_thread(_table_names, fresh_url)
