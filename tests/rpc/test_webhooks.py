"""webhook.list / webhook.create / webhook.delete: v3's objects and rules, pages, isolation."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import Webhook
from tests.conftest import Tenant, World
from tests.rpc.conftest import bearer, failed, ok, rpc

URL = "http://127.0.0.1:9/hook"


async def create(client: httpx.AsyncClient, tenant: Tenant, **args: Any) -> dict[str, Any]:
    args = {"url": URL, "events": ["contact.*"], **args}
    body = ok(await rpc(client, "webhook.create", tenant.company_v3, **args))
    webhook: dict[str, Any] = body["webhook"]
    return webhook


async def test_create_list_delete(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.admin.personal_v3
    response = await rpc(
        client,
        "webhook.create",
        key,
        url=URL,
        events=["contact.created", "group.*"],
        description="CRM sync",
        custom_data={"tenant": "acme"},
    )
    body = ok(response)
    assert set(body) == {"ok", "webhook"}
    created = body["webhook"]
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["contact.created", "group.*"]
    assert created["custom_data"] == {"tenant": "acme"}
    assert created["state"] == "healthy"
    assert "RateLimit" in response.headers  # the limiter's headers, as on the other doors

    # the same object as v3 shows (without the secret, shown only once)
    v3 = await client.get(f"/api/v3/webhooks/{created['uuid']}", headers=bearer(key))
    v3_body = v3.json()
    del v3_body["health"]
    assert {**v3_body, "secret": created["secret"]} == created

    listed = ok(await rpc(client, "webhook.list", world.a.viewer.personal_v3))
    assert listed == {"ok": True, "webhooks": [v3_body], "next": None}

    assert ok(await rpc(client, "webhook.delete", key, uuid=created["uuid"])) == {"ok": True}
    assert ok(await rpc(client, "webhook.list", key))["webhooks"] == []
    body = failed(await rpc(client, "webhook.delete", key, uuid=created["uuid"]), 404, "not_found")
    assert body["message"] == "No webhook with this uuid."
    failed(await rpc(client, "webhook.delete", key, uuid="not-a-uuid"), 404, "not_found")


async def test_list_pages_with_cursor(client: httpx.AsyncClient, world: World) -> None:
    uuids = [(await create(client, world.a, description=f"n{i}"))["uuid"] for i in range(5)]
    v3 = await client.get("/api/v3/webhooks", headers=bearer(world.a.company_v3))
    newest_first = [w["uuid"] for w in v3.json()["results"]]
    assert sorted(newest_first) == sorted(uuids)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        args: dict[str, Any] = {"limit": 2}
        if cursor:
            args["cursor"] = cursor
        body = ok(await rpc(client, "webhook.list", world.a.company_v3, **args))
        seen += [w["uuid"] for w in body["webhooks"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
        assert not cursor.startswith("http")  # a cursor, not a URL
    assert pages == 3
    assert seen == newest_first

    body = failed(
        await rpc(client, "webhook.list", world.a.company_v3, cursor="garbage"),
        400,
        "invalid_args",
    )
    assert body["args"] == {"cursor": ["Invalid cursor."]}
    body = failed(
        await rpc(client, "webhook.list", world.a.company_v3, limit=0), 400, "invalid_args"
    )
    assert list(body["args"]) == ["limit"]


async def test_create_validation_is_the_services(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.company_v3
    body = failed(
        await rpc(client, "webhook.create", key, url=URL, events=["nope.nothing"]),
        400,
        "invalid_args",
    )
    assert body["args"]["events"] == ["Unknown event type: nope.nothing."]
    body = failed(await rpc(client, "webhook.create", key, url=URL, events=[]), 400, "invalid_args")
    assert list(body["args"]) == ["events"]


async def test_two_workspaces(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    theirs = await create(client, world.b)
    mine = await create(client, world.a)
    a_key = world.a.company_v3
    listed = ok(await rpc(client, "webhook.list", a_key))
    assert [w["uuid"] for w in listed["webhooks"]] == [mine["uuid"]]
    body = failed(await rpc(client, "webhook.delete", a_key, uuid=theirs["uuid"]), 404, "not_found")
    assert body["message"] == "No webhook with this uuid."
    b_list = ok(await rpc(client, "webhook.list", world.b.company_v3))
    assert [w["uuid"] for w in b_list["webhooks"]] == [theirs["uuid"]]
    active = await session.scalar(select(Webhook.is_active).where(Webhook.uuid == theirs["uuid"]))
    assert active is True
