"""relaydesk.db.direct: one-hop reads give what SQLAlchemy's execution gives, on both DBs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from relaydesk.app import RelaydeskApp
from relaydesk.db import direct
from relaydesk.models import Workspace


async def _workspaces(session: AsyncSession) -> list[Workspace]:
    made = [
        Workspace(name=f"W{i}", languages=["eng", f"x{i}"], anon=bool(i % 2), timezone="UTC")
        for i in range(3)
    ]
    session.add_all(made)
    await session.commit()
    return made


COLUMNS = (Workspace.id, Workspace.name, Workspace.languages, Workspace.anon, Workspace.created_on)


async def test_rows_equal_sqlalchemy_execution(session: AsyncSession) -> None:
    await _workspaces(session)
    stmt = select(*COLUMNS).order_by(Workspace.id)
    expected = [tuple(row) for row in (await session.execute(stmt)).all()]
    await session.rollback()
    rows = await direct.fetch_all(session, stmt)
    assert [tuple(row) for row in rows] == expected
    first = rows[0]
    # processed like SQLAlchemy: JSON decoded, booleans, timezone-aware UTC datetimes
    assert first.languages == ["eng", "x0"]
    assert first.anon is False
    assert isinstance(first.created_on, datetime)
    assert first.created_on.tzinfo == UTC
    assert first.name == first[1] == "W0"
    assert len(first) == len(COLUMNS)


async def test_same_shape_other_values_binds_its_own(session: AsyncSession) -> None:
    """Two statements differing only in literal values share one compiled shape; each must
    still run with its own values (the cache key's extracted parameters)."""
    made = await _workspaces(session)
    for workspace in made:
        stmt = select(Workspace.id, Workspace.name).where(Workspace.id == workspace.id)
        rows = await direct.fetch_all(session, stmt)
        assert [(r.id, r.name) for r in rows] == [(workspace.id, workspace.name)]
    for name in ("W2", "W0", "nobody"):
        stmt = select(Workspace.name).where(Workspace.name == name, Workspace.is_active.is_(True))
        rows = await direct.fetch_all(session, stmt)
        assert [r.name for r in rows] == ([] if name == "nobody" else [name])


async def test_named_parameters(session: AsyncSession) -> None:
    made = await _workspaces(session)
    stmt = direct.cached(
        ("test_direct", "by-id"),
        lambda: select(Workspace.name).where(Workspace.id == bindparam("wanted")),
    )
    assert direct.cached(("test_direct", "by-id"), lambda: select(Workspace.id)) is stmt
    for workspace in made:
        rows = await direct.fetch_all(session, stmt, {"wanted": workspace.id})
        assert [r.name for r in rows] == [workspace.name]
    cutoff = bindparam("cutoff", type_=Workspace.created_on.type)
    since = select(Workspace.name).where(Workspace.created_on >= cutoff)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    assert await direct.fetch_all(session, since, {"cutoff": future}) == []
    past = datetime(2000, 1, 1, tzinfo=UTC)
    assert len(await direct.fetch_all(session, since, {"cutoff": past})) == 3


async def test_post_compile_parameters_fall_back(session: AsyncSession) -> None:
    made = await _workspaces(session)
    wanted = [made[0].id, made[2].id]
    stmt = select(Workspace.name).where(Workspace.id.in_(wanted)).order_by(Workspace.id)
    assert [r.name for r in await direct.fetch_all(session, stmt)] == ["W0", "W2"]


async def test_uses_the_sessions_connection_when_it_holds_one(
    app: RelaydeskApp, clean: None
) -> None:
    """With a one-connection pool, a session that already holds the connection must not wait
    for a second one (it would never come)."""
    engine = create_async_engine(
        app.state.settings.effective_database_url, pool_size=1, max_overflow=0, pool_timeout=2
    )
    try:
        async with async_sessionmaker(engine)() as session:
            await session.execute(select(Workspace.id))
            assert session.in_transaction()
            rows = await asyncio.wait_for(direct.fetch_all(session, select(Workspace.id)), 5)
            assert rows == []
        async with async_sessionmaker(engine)() as session:  # and returns its own connection
            for _ in range(3):
                await asyncio.wait_for(direct.fetch_all(session, select(Workspace.id)), 5)
    finally:
        await engine.dispose()


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct, "MAX_SHAPES", 2)
    built = [
        direct.cached(("test_direct", "lru", i), lambda: select(Workspace.id)) for i in range(3)
    ]
    assert direct.cached(("test_direct", "lru", 2), lambda: select(Workspace.name)) is built[2]
    again = direct.cached(("test_direct", "lru", 0), lambda: select(Workspace.name))
    assert again is not built[0]  # dropped as least recently used


async def test_execute_many_insert_and_update_in_the_sessions_transaction(
    session: AsyncSession,
) -> None:
    table = Workspace.__table__
    stamp = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    rows = [
        {"uuid": f"00000000-0000-4000-8000-00000000000{i}", "name": f"N{i}", "languages": [],
         "timezone": "UTC", "date_style": "day_first", "plan": "standard", "anon": False,
         "country": "RW", "is_active": True, "created_on": stamp}
        for i in range(3)
    ]  # fmt: skip
    await direct.execute_many(session, insert(table), rows)
    await session.rollback()  # nothing committed: nothing written
    assert (await session.execute(select(Workspace.id))).all() == []

    await direct.execute_many(session, insert(table), rows)
    later = stamp + timedelta(days=1)
    # an UPDATE with per-row values and a literal shared by every row
    await direct.execute_many(
        session,
        update(table)
        .where(table.c.uuid == bindparam("b_uuid"), table.c.is_active.is_(True))
        .values(name=bindparam("b_name"), created_on=bindparam("b_when"), country=None),
        [{"b_uuid": r["uuid"], "b_name": r["name"] + "!", "b_when": later} for r in rows[:2]],
    )
    await session.commit()
    found = (
        await session.execute(
            select(Workspace.name, Workspace.created_on, Workspace.country).order_by(Workspace.uuid)
        )
    ).all()
    assert [tuple(r) for r in found] == [
        ("N0!", later, None),
        ("N1!", later, None),
        ("N2", stamp, "RW"),
    ]
    await direct.execute_many(session, update(table).values(name="x"), [])  # nothing to do
