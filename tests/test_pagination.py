"""Keyset pagination machinery (both databases): stable order with ties, next/previous."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from relaydesk.exceptions import NotFound
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.models import Label
from tests.conftest import World

T = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def request_for(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/api/v2/labels.json",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
        }
    )


async def render(objs: Sequence[Any]) -> list[Any]:
    return [o.name for o in objs]


async def page(session: AsyncSession, workspace_id: int, query: str = "") -> dict[str, Any]:
    stmt = select(Label).where(Label.workspace_id == workspace_id)
    return await keyset_page(
        session,
        stmt,
        request_for(query),
        sort=Label.created_on,
        id_column=Label.id,
        render=render,
        page_size=3,
    )


def query_of(url: str) -> str:
    return urlsplit(url).query


async def test_pages_forward_and_back(session: AsyncSession, world: World) -> None:
    # 8 labels; pairs share a timestamp so the id breaks ties
    for i in range(8):
        session.add(
            Label(workspace_id=world.a.id, name=f"L{i}", created_on=T + timedelta(seconds=i // 2))
        )
    session.add(Label(workspace_id=world.b.id, name="other", created_on=T))
    await session.commit()

    first = await page(session, world.a.id, "name=ignored")
    assert first["results"] == ["L7", "L6", "L5"]
    assert first["previous"] is None
    assert parse_qs(query_of(first["next"]))["name"] == ["ignored"]  # filters kept
    assert first["next"].startswith("http://testserver/api/v2/labels.json?")

    second = await page(session, world.a.id, query_of(first["next"]))
    assert second["results"] == ["L4", "L3", "L2"]
    third = await page(session, world.a.id, query_of(second["next"]))
    assert third["results"] == ["L1", "L0"]
    assert third["next"] is None

    back = await page(session, world.a.id, query_of(third["previous"]))
    assert back["results"] == ["L4", "L3", "L2"]
    back = await page(session, world.a.id, query_of(back["previous"]))
    assert back["results"] == ["L7", "L6", "L5"]
    assert back["previous"] is None
    assert back["next"] is not None


async def test_empty_and_invalid_cursor(session: AsyncSession, world: World) -> None:
    empty = await page(session, world.a.id)
    assert empty == {"next": None, "previous": None, "results": []}
    for bad in ("cursor=nonsense", "cursor=W10", "cursor=WyJ4IiwxLDBd"):
        with pytest.raises(NotFound):
            await page(session, world.a.id, bad)


async def test_reverse_is_oldest_first(session: AsyncSession, world: World) -> None:
    for i in range(5):
        session.add(
            Label(workspace_id=world.a.id, name=f"L{i}", created_on=T + timedelta(seconds=i))
        )
    await session.commit()
    first = await page(session, world.a.id, "reverse=true")
    assert first["results"] == ["L0", "L1", "L2"]
    second = await page(session, world.a.id, query_of(first["next"]))
    assert second["results"] == ["L3", "L4"]
    assert second["next"] is None
    back = await page(session, world.a.id, query_of(second["previous"]))
    assert back["results"] == ["L0", "L1", "L2"]


async def test_out_of_range_cursor_time_is_404(session: AsyncSession, world: World) -> None:
    from relaydesk.kit import cursors

    bad = cursors.encode(["9999-12-31T23:00:00-05:00", 1])
    with pytest.raises(NotFound):
        await page(session, world.a.id, f"cursor={bad}")
