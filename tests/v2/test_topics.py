"""REST v2 ``topics.json`` against RapidPro's ``TopicsEndpointTest`` (shapes, counts, the system
topic, messages, codes), and migration 0009 (a system topic for every existing workspace;
downgrade and upgrade again)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from relaydesk.app import RelaydeskApp
from relaydesk.db.migrate import alembic_config, upgrade
from relaydesk.domains.tickets import topics
from relaydesk.domains.tickets.schemas import TopicRead
from relaydesk.kit.time import format_datetime
from relaydesk.models import Role, Topic
from tests.conftest import World, auth
from tests.services import throwaway_pg_database
from tests.v2.accounts import add_member
from tests.v2.test_tickets import contact, open_ticket

URL = "/api/v2/topics.json"
ACTIONS = "/api/v2/ticket_actions.json"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}


@pytest.fixture(autouse=True)
def keep_loaded(session: AsyncSession) -> None:
    session.sync_session.expire_on_commit = False


async def create(client: httpx.AsyncClient, token: str, name: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"name": name}, headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def results(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await client.get(URL, headers=auth(token))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


async def topic_row(session: AsyncSession, uuid: str) -> Topic:
    topic = (await session.execute(select(Topic).where(Topic.uuid == uuid))).scalar_one()
    await session.refresh(topic)
    return topic


async def test_every_workspace_has_the_system_topic(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    general = await topics.system_topic(session, world.a.id)
    assert await results(client, world.a.company) == [
        {
            "uuid": general.uuid,
            "name": "General",
            "counts": {"open": 0, "closed": 0},
            "system": True,
            "created_on": format_datetime(general.created_on),
        }
    ]
    other = await topics.system_topic(session, world.b.id)
    assert other.uuid != general.uuid
    assert [r["uuid"] for r in await results(client, world.b.company)] == [other.uuid]


async def test_list_shape_counts_order_and_isolation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    support = await create(client, world.a.company, "Support")
    sales = await create(client, world.a.company, "Sales")
    await create(client, world.b.company, "Bugs")
    ann = await contact(session, world.a, "Ann")
    support_row = await topic_row(session, support["uuid"])
    await open_ticket(session, world.a, ann, topic=support_row)
    closing = await open_ticket(session, world.a, ann, topic=support_row)
    await open_ticket(session, world.a, ann)  # General
    response = await client.post(
        ACTIONS, json={"tickets": [closing.uuid], "action": "close"}, headers=auth(world.a.company)
    )
    assert response.status_code == 204
    general = await topics.system_topic(session, world.a.id)

    response = await client.get(URL, headers=auth(world.a.viewer.personal))
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {**sales, "counts": {"open": 0, "closed": 0}},
            {**support, "counts": {"open": 1, "closed": 1}},
            {
                "uuid": general.uuid,
                "name": "General",
                "counts": {"open": 1, "closed": 0},
                "system": True,
                "created_on": format_datetime(general.created_on),
            },
        ],
    }
    for item in response.json()["results"]:
        TopicRead.model_validate(item)
    assert [r["name"] for r in await results(client, world.b.company)] == ["Bugs", "General"]


async def test_create_update_and_messages(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    token = world.a.editor.personal
    response = await client.post(URL, json={}, headers=auth(token))
    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}

    response = await client.post(URL, json={"name": " Food "}, headers=auth(token))
    assert response.status_code == 201
    food = response.json()
    row = await topic_row(session, food["uuid"])
    assert food == {
        "uuid": row.uuid,
        "name": "Food",
        "counts": {"open": 0, "closed": 0},
        "system": False,
        "created_on": format_datetime(row.created_on),
    }

    cases: list[tuple[Any, list[str]]] = [
        ("Food", ["This field must be unique."]),
        ("FOOD", ["This field must be unique."]),
        ("general", ["This field must be unique."]),
        ('"Hi"', ['Cannot contain the character: "']),
        (
            "x" * 65,
            [
                "Cannot be longer than 64 characters.",
                "Ensure this field has no more than 64 characters.",
            ],
        ),
        ("", ["This field may not be blank."]),
        (None, ["This field may not be null."]),
    ]
    for name, messages in cases:
        response = await client.post(URL, json={"name": name}, headers=auth(token))
        assert response.status_code == 400, name
        assert response.json() == {"name": messages}, name

    # another workspace's name is fine
    await create(client, world.a.company, "Bugs")
    await create(client, world.b.company, "Bugs")

    # rename by UUID (its own name in another case is not a duplicate)
    support = await create(client, token, "Support")
    response = await client.post(
        URL + f"?uuid={support['uuid']}", json={"name": "Support Tickets"}, headers=auth(token)
    )
    assert response.status_code == 200
    assert response.json() == {**support, "name": "Support Tickets"}
    response = await client.post(
        URL + f"?uuid={support['uuid']}", json={"name": "SUPPORT tickets"}, headers=auth(token)
    )
    assert response.status_code == 200
    response = await client.post(
        URL + f"?uuid={support['uuid']}", json={"name": "General"}, headers=auth(token)
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}

    # the system topic can't be renamed
    general = await topics.system_topic(session, world.a.id)
    response = await client.post(
        URL + f"?uuid={general.uuid}", json={"name": "Won't work"}, headers=auth(token)
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Cannot modify system object."}

    # another workspace's topic, an unknown one, a malformed one: 404
    other = await topics.system_topic(session, world.b.id)
    b_bugs = next(r for r in await results(client, world.b.company) if r["name"] == "Bugs")
    for uuid in (other.uuid, b_bugs["uuid"], "f5901b62-ba76-4003-9c62-72fdacc1b7b7", "xyz"):
        response = await client.post(
            URL + f"?uuid={uuid}", json={"name": "Won't work"}, headers=auth(token)
        )
        assert response.status_code == 404, uuid
        assert response.json() == {"detail": "Not found."}

    response = await client.delete(URL + f"?uuid={support['uuid']}", headers=auth(token))
    assert response.status_code == 405


async def test_limit(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topics, "LIMIT", 2)
    await create(client, world.a.company, "One")
    await create(client, world.a.company, "Two")  # the system topic doesn't count
    response = await client.post(URL, json={"name": "Three"}, headers=auth(world.a.company))
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot create object because workspace has reached limit of 2."
    }
    await create(client, world.b.company, "Three")


async def test_permissions(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    response = await client.get(URL)
    assert response.status_code == 403
    # agents and viewers read; neither writes
    assert [r["name"] for r in await results(client, agent.token)] == ["General"]
    assert [r["name"] for r in await results(client, world.a.viewer.personal)] == ["General"]
    for token in (agent.token, world.a.viewer.personal):
        response = await client.post(URL, json={"name": "Mine"}, headers=auth(token))
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert [r["name"] for r in await results(client, world.a.company)] == ["General"]


async def test_pagination(
    client: httpx.AsyncClient,
    world: World,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.state.settings, "page_size", 2)
    names = [f"Topic {i}" for i in range(5)]
    for name in names:
        await create(client, world.a.company, name)
    seen: list[str] = []
    url: str | None = URL
    pages = 0
    while url is not None:
        response = await client.get(url, headers=auth(world.a.company))
        assert response.status_code == 200
        seen += [r["name"] for r in response.json()["results"]]
        url = response.json()["next"]
        pages += 1
    assert pages == 3
    assert seen == [*reversed(names), "General"]


# -- migration 0009 ----------------------------------------------------------------------------


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        with throwaway_pg_database() as url:
            yield url


def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Alembic's env (and asyncio.run) need a thread without pytest's running loop."""
    out: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(function(*args))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return out[0] if out else None


def _sql(url: str, statement: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement))
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migration_adds_system_topics_and_downgrades(fresh_url: str) -> None:
    _in_thread(upgrade, fresh_url, "0008")
    for name in ("Old One", "Old Two"):
        _in_thread(
            _sql,
            fresh_url,
            "INSERT INTO workspaces (uuid, name, languages, timezone, date_style, plan, anon, "
            f"is_active, created_on) VALUES ('{name[-3:]}-uuid', '{name}', '[]', 'UTC', "
            "'day_first', 'standard', false, true, CURRENT_TIMESTAMP)",
        )
    _in_thread(upgrade, fresh_url, "0009")
    rows = _in_thread(
        _sql,
        fresh_url,
        "SELECT w.name, t.name, t.is_system, t.is_active FROM topics t "
        "JOIN workspaces w ON w.id = t.workspace_id ORDER BY w.name",
    )
    assert [tuple(r) for r in rows] == [
        ("Old One", "General", True, True),
        ("Old Two", "General", True, True),
    ]
    uuids = _in_thread(_sql, fresh_url, "SELECT uuid FROM topics")
    assert len({r[0] for r in uuids}) == 2

    _in_thread(command.downgrade, alembic_config(fresh_url), "0008")
    with pytest.raises(Exception, match="topics"):
        _in_thread(_sql, fresh_url, "SELECT count(*) FROM topics")
    _in_thread(upgrade, fresh_url, "head")
    assert _in_thread(_sql, fresh_url, "SELECT count(*) FROM tickets") == [(0,)]
