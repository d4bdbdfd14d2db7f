"""Live chats end to end without a browser: the widget's visitor endpoints (start, messages
both ways, poll, end with a rating) and the agents' RPC methods (chat.list/get/reply/end/tag);
exactly one ``chat.started`` and one ``chat.ended`` outbox event; visitor tokens, filters and
pages, argument errors, scopes and isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.chats import service
from relaydesk.models import Chat, Department, Property, User
from tests.conftest import Tenant, World
from tests.rpc.conftest import failed, ok, rpc
from tests.v2.test_tickets import envelopes, hook

METHODS = ("chat.list", "chat.get", "chat.reply", "chat.end", "chat.tag")


@pytest.fixture(autouse=True)
def keep_loaded(session: AsyncSession) -> None:
    session.sync_session.expire_on_commit = False


async def shop(
    session: AsyncSession, tenant: Tenant, name: str = "Shop", departments: tuple[str, ...] = ()
) -> tuple[Property, list[Department]]:
    prop = Property(workspace_id=tenant.id, name=name, widget={})
    session.add(prop)
    await session.flush()
    depts = [Department(property_id=prop.id, name=d) for d in departments]
    session.add_all(depts)
    await session.commit()
    return prop, depts


async def user(session: AsyncSession, email: str) -> User:
    return (await session.execute(select(User).where(User.email == email))).scalar_one()


def widget(prop: Property, *rest: str) -> str:
    return "/".join([f"/widget/{prop.uuid}/chats", *rest])


def token(value: str) -> dict[str, str]:
    return {"X-Visitor-Token": value}


async def start(
    client: httpx.AsyncClient, prop: Property, message: str = "Hi", **extra: Any
) -> tuple[dict[str, Any], str]:
    response = await client.post(widget(prop), json={"message": message, **extra})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["chat"], body["visitor_token"]


# -- the whole life of a chat ------------------------------------------------------------------


async def test_visitor_flow_end_to_end(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    await hook(session, world.a, ["chat.*"])
    await hook(session, world.b, ["*"])  # the other workspace hears nothing
    prop, [sales] = await shop(session, world.a, departments=("Sales",))
    editor = world.a.editor

    chat, secret = await start(
        client,
        prop,
        "  I need help with my order  ",
        name="Ann",
        email="Ann@Example.com",
        department=sales.uuid,
    )
    assert secret.startswith("rdv_")
    uuid = chat["uuid"]
    assert chat["status"] == "waiting"
    assert chat["property"] == {"uuid": prop.uuid, "name": "Shop"}
    assert chat["department"] == {"uuid": sales.uuid, "name": "Sales"}
    assert chat["contact"]["name"] == "Ann"
    assert chat["agent"] is None
    assert chat["first_response_on"] is None
    assert chat["tags"] == []
    assert chat["rating"] is None
    assert chat["missed"] is False

    sent = await client.post(
        widget(prop, uuid, "messages"), json={"text": "Order 42"}, headers=token(secret)
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["sender"] == "visitor"

    replied = ok(await rpc(client, "chat.reply", editor.personal_v3, uuid=uuid, text="On it!"))
    assert replied["chat"]["status"] == "active"
    assert replied["chat"]["agent"]["email"] == editor.email
    assert replied["chat"]["first_response_on"] == replied["sent"]["created_on"]
    assert replied["sent"]["agent"]["email"] == editor.email
    # a second reply by someone else keeps the agent and the first response time
    again = ok(await rpc(client, "chat.reply", world.a.admin.personal_v3, uuid=uuid, text="+1"))
    assert again["chat"]["agent"] == replied["chat"]["agent"]
    assert again["chat"]["first_response_on"] == replied["chat"]["first_response_on"]

    polled = await client.get(widget(prop, uuid, "messages"), headers=token(secret))
    assert polled.status_code == 200, polled.text
    texts = [(m["sender"], m["text"]) for m in polled.json()["messages"]]
    assert texts == [
        ("visitor", "I need help with my order"),
        ("visitor", "Order 42"),
        ("agent", "On it!"),
        ("agent", "+1"),
    ]
    first = polled.json()["messages"][1]["uuid"]
    later = await client.get(
        widget(prop, uuid, "messages"), params={"after": first}, headers=token(secret)
    )
    assert [m["text"] for m in later.json()["messages"]] == ["On it!", "+1"]

    ended = await client.post(widget(prop, uuid, "end"), json={"rating": 5}, headers=token(secret))
    assert ended.status_code == 200, ended.text
    final = ended.json()["chat"]
    assert final["status"] == "ended"
    assert final["rating"] == 5
    assert final["missed"] is False
    assert final["ended_on"] is not None

    got = ok(await rpc(client, "chat.get", world.a.viewer.personal_v3, uuid=uuid.upper()))
    assert got["chat"] == final
    assert [(m["sender"], m["text"]) for m in got["messages"]] == texts
    stamps = [m["created_on"] for m in got["messages"]]
    assert stamps == sorted(stamps)

    started_env, ended_env = await envelopes(app)
    for envelope, kind in ((started_env, "chat.started"), (ended_env, "chat.ended")):
        assert set(envelope) == {"id", "type", "timestamp", "workspace", "data"}
        assert envelope["type"] == kind
        assert envelope["id"].startswith("evt_")
        assert envelope["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}
        assert envelope["data"]["uuid"] == uuid
        assert envelope["data"]["custom_data"] == {}
        assert envelope["data"]["contact"]["custom_data"] == {}
    assert started_env["data"]["status"] == "waiting"
    data = dict(ended_env["data"])
    data.pop("custom_data")
    data["contact"] = {k: v for k, v in data["contact"].items() if k != "custom_data"}
    assert data == final

    # the same email later is the same contact
    second, _ = await start(client, prop, "Me again", email="ann@example.com")
    assert second["contact"]["uuid"] == chat["contact"]["uuid"]


async def test_rpc_end_marks_missed_and_emits_once(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    await hook(session, world.a, ["chat.ended"])
    prop, _ = await shop(session, world.a)
    chat, secret = await start(client, prop)
    body = ok(await rpc(client, "chat.end", world.a.editor.personal_v3, uuid=chat["uuid"]))
    assert body["chat"]["status"] == "ended"
    assert body["chat"]["missed"] is True
    again = failed(
        await rpc(client, "chat.end", world.a.editor.personal_v3, uuid=chat["uuid"]),
        400,
        "invalid_args",
    )
    assert again["args"] == {"uuid": ["The chat has ended."]}
    late = await client.post(widget(prop, chat["uuid"], "end"), json={}, headers=token(secret))
    assert late.status_code == 400
    reply = await rpc(client, "chat.reply", world.a.editor.personal_v3, uuid=chat["uuid"], text="x")
    failed(reply, 400, "invalid_args")
    [envelope] = await envelopes(app)
    assert envelope["type"] == "chat.ended"


async def test_rolled_back_start_emits_nothing(
    world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    await hook(session, world.a, ["chat.*"])
    prop, _ = await shop(session, world.a)
    await service.start(session, prop, name=None, email=None, message="Hi", department=None)
    await session.rollback()
    assert await envelopes(app) == []
    assert (await session.execute(select(Chat))).first() is None


async def test_visitor_tokens_and_limits(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    prop, _ = await shop(session, world.a)
    other, _ = await shop(session, world.a, "Other")
    chat, secret = await start(client, prop)
    _, other_secret = await start(client, prop)
    uuid = chat["uuid"]
    url = widget(prop, uuid, "messages")
    assert (await client.get(url)).status_code == 403
    assert (await client.get(url, headers=token("rdv_wrong"))).status_code == 403
    assert (await client.get(url, headers=token(other_secret))).status_code == 403
    posted = await client.post(url, json={"text": "x"}, headers=token("rdv_wrong"))
    assert posted.status_code == 403
    ended = await client.post(widget(prop, uuid, "end"), json={}, headers=token(other_secret))
    assert ended.status_code == 403
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (
        await client.get(widget(prop, unknown, "messages"), headers=token(secret))
    ).status_code == 404
    assert (
        await client.get(widget(other, uuid, "messages"), headers=token(secret))
    ).status_code == 404
    assert (
        await client.post(f"/widget/{unknown}/chats", json={"message": "Hi"})
    ).status_code == 404
    assert (await client.post("/widget/nope/chats", json={"message": "Hi"})).status_code == 404

    too_long = await client.post(url, json={"text": "x" * 10_001}, headers=token(secret))
    assert too_long.status_code == 400, too_long.text
    assert "text" in too_long.json()
    assert (await client.post(url, json={"text": "   "}, headers=token(secret))).status_code == 400
    assert (await client.post(url, json={"txt": "a"}, headers=token(secret))).status_code == 400
    assert (await client.post(url, content=b"[1]", headers=token(secret))).status_code == 400
    bad_start = await client.post(widget(prop), json={"message": "Hi", "department": unknown})
    assert bad_start.status_code == 400
    assert "department" in bad_start.json()
    assert (await client.post(widget(prop), json={})).status_code == 400
    rating = await client.post(widget(prop, uuid, "end"), json={"rating": 6}, headers=token(secret))
    assert rating.status_code == 400
    ok_text = await client.post(url, json={"text": "y" * 10_000}, headers=token(secret))
    assert ok_text.status_code == 201


# -- lists, filters and pages ------------------------------------------------------------------


async def test_list_filters_and_cursor(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    prop, [sales, support] = await shop(session, world.a, departments=("Sales", "Support"))
    other, _ = await shop(session, world.a, "Other")
    editor = await user(session, world.a.editor.email)
    admin = await user(session, world.a.admin.email)
    base = datetime(2026, 11, 1, 9, tzinfo=UTC)
    made: list[Chat] = []
    for i in range(7):
        chat, _ = await service.start(
            session,
            other if i == 6 else prop,
            name=f"V{i}",
            email=None,
            message="Hi",
            department=(sales if i % 2 == 0 else support).uuid if i < 6 else None,
        )
        chat.started_on = base + timedelta(hours=i)
        chat.agent_id = (editor.id if i % 3 == 0 else admin.id) if i < 5 else None
        chat.status = "ended" if i in (1, 4) else ("active" if i < 5 else "waiting")
        await service.set_tags(session, chat, ["vip"] if i in (0, 2, 5) else ["Billing"])
        made.append(chat)
    await session.commit()
    key = world.a.viewer.personal_v3
    uuids = [c.uuid for c in made]

    def listed(body: dict[str, Any]) -> list[str]:
        return [c["uuid"] for c in body["chats"]]

    everything = ok(await rpc(client, "chat.list", key))
    assert listed(everything) == uuids[::-1]  # newest first
    assert everything["next"] is None

    pages: list[str] = []
    cursor = None
    while True:
        args: dict[str, Any] = {"limit": 3}
        if cursor:
            args["cursor"] = cursor
        page = ok(await rpc(client, "chat.list", key, **args))
        pages += listed(page)
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == uuids[::-1]

    async def only(**filters: Any) -> list[str]:
        return listed(ok(await rpc(client, "chat.list", key, **filters)))

    assert await only(property=prop.uuid) == uuids[5::-1]
    assert await only(agent=world.a.editor.email.upper()) == [uuids[3], uuids[0]]
    assert await only(tag="VIP") == [uuids[5], uuids[2], uuids[0]]
    assert await only(department=support.uuid) == [uuids[5], uuids[3], uuids[1]]
    assert await only(status="ended") == [uuids[4], uuids[1]]
    assert await only(status="waiting") == [uuids[6], uuids[5]]
    assert await only(since="2026-11-01T11:00:00Z", until="2026-11-01T13:00:00Z") == [
        uuids[3],
        uuids[2],
    ]
    assert await only(tag="billing", department=support.uuid, status="active") == [uuids[3]]
    # filtered pages
    first = ok(await rpc(client, "chat.list", key, tag="billing", limit=2))
    assert listed(first) == [uuids[6], uuids[4]]
    second = ok(await rpc(client, "chat.list", key, tag="billing", limit=2, cursor=first["next"]))
    assert listed(second) == [uuids[3], uuids[1]]
    assert second["next"] is None


async def test_tags(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    prop, _ = await shop(session, world.a)
    chat, _ = await start(client, prop)
    key = world.a.editor.personal_v3
    body = ok(await rpc(client, "chat.tag", key, uuid=chat["uuid"], tags=["VIP", "vip", "Billing"]))
    assert body["chat"]["tags"] == ["billing", "vip"]
    body = ok(await rpc(client, "chat.tag", key, uuid=chat["uuid"], tags=[]))
    assert body["chat"]["tags"] == []
    failed(await rpc(client, "chat.tag", key, uuid=chat["uuid"], tags="vip"), 400, "invalid_args")
    too_many = [f"t{i}" for i in range(21)]
    failed(
        await rpc(client, "chat.tag", key, uuid=chat["uuid"], tags=too_many), 400, "invalid_args"
    )


# -- arguments, credentials, scopes, workspaces ------------------------------------------------


async def test_invalid_args(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    prop, _ = await shop(session, world.a)
    chat, _ = await start(client, prop)
    key = world.a.editor.personal_v3
    unknown = "00000000-0000-4000-8000-000000000000"
    body = failed(
        await rpc(
            client,
            "chat.list",
            key,
            agent="nobody@example.com",
            property=unknown,
            department=unknown,
        ),
        400,
        "invalid_args",
    )
    assert set(body["args"]) == {"agent", "property", "department"}
    body = failed(await rpc(client, "chat.list", key, cursor="garbage"), 400, "invalid_args")
    assert "cursor" in body["args"]
    body = failed(await rpc(client, "chat.list", key, status="open"), 400, "invalid_args")
    assert "status" in body["args"]
    body = failed(await rpc(client, "chat.list", key, since="yesterday"), 400, "invalid_args")
    assert "since" in body["args"]
    body = failed(
        await rpc(client, "chat.list", key, since="2026-11-02", until="2026-11-01"),
        400,
        "invalid_args",
    )
    assert "until" in body["args"]
    body = failed(await rpc(client, "chat.reply", key, uuid=chat["uuid"]), 400, "invalid_args")
    assert "text" in body["args"]
    body = failed(
        await rpc(client, "chat.reply", key, uuid=chat["uuid"], text="x" * 10_001),
        400,
        "invalid_args",
    )
    assert "text" in body["args"]
    failed(await rpc(client, "chat.get", key, uuid=chat["uuid"], extra=1), 400, "invalid_args")
    failed(await rpc(client, "chat.get", key, uuid=unknown), 404, "not_found")
    failed(await rpc(client, "chat.get", key, uuid="nope"), 404, "not_found")


async def test_auth_scopes_and_isolation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    prop, _ = await shop(session, world.a)
    chat, _ = await start(client, prop)
    uuid = chat["uuid"]
    for method in METHODS:
        response = await client.post(f"/api/rpc/{method}", json={"uuid": uuid})
        failed(response, 401, "not_authed")
    viewer = world.a.viewer.personal_v3
    ok(await rpc(client, "chat.list", viewer))
    ok(await rpc(client, "chat.get", viewer, uuid=uuid))
    for method, args in (
        ("chat.reply", {"text": "hi"}),
        ("chat.end", {}),
        ("chat.tag", {"tags": ["x"]}),
    ):
        body = failed(await rpc(client, method, viewer, uuid=uuid, **args), 403, "forbidden")
        assert "chats:write" in body["message"]
    # the other workspace sees nothing and can't touch it
    other = world.b.admin.personal_v3
    assert ok(await rpc(client, "chat.list", other))["chats"] == []
    for method, args in (
        ("chat.get", {}),
        ("chat.reply", {"text": "hi"}),
        ("chat.end", {}),
        ("chat.tag", {"tags": ["x"]}),
    ):
        failed(await rpc(client, method, other, uuid=uuid, **args), 404, "not_found")
    body = failed(await rpc(client, "chat.list", other, property=prop.uuid), 400, "invalid_args")
    assert "property" in body["args"]
    got = ok(await rpc(client, "chat.get", viewer, uuid=uuid))
    assert got["chat"]["status"] == "waiting"
    assert len(got["messages"]) == 1


async def test_wrong_visitor_tokens_block_the_ip(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    prop, _ = await shop(session, world.a)
    chat, secret = await start(client, prop)
    url = widget(prop, chat["uuid"], "messages")
    limit = app.state.settings.auth_failures_per_minute
    for _ in range(limit):
        assert (await client.get(url, headers=token("rdv_guess"))).status_code == 403
    blocked = await client.get(url, headers=token(secret))  # even the right one, for a while
    assert blocked.status_code == 429, blocked.text
