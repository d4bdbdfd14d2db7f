"""Custom data (v3): put / get / delete on an object of the caller's workspace, 400s and 404s,
permissions, isolation, and its embedding as ``custom_data`` in the events of that object."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import Contact, ContactGroup, Label, User, WebhookEvent
from relaydesk.platform.webhooks import events
from relaydesk.platform.webhooks.custom_data import OBJECT_TYPES
from tests.conftest import Tenant, World

BASE = "/api/v3/custom_data"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def owner_id(session: AsyncSession, tenant: Tenant) -> int:
    stmt = select(User.id).where(User.email == tenant.admin.email)
    return int((await session.execute(stmt)).scalar_one())


async def contact(session: AsyncSession, tenant: Tenant, **kw: Any) -> str:
    row = Contact(
        workspace_id=tenant.id, owner_id=await owner_id(session, tenant), name="Ann", **kw
    )
    session.add(row)
    await session.commit()
    return row.uuid


async def test_put_get_delete(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    uuid = await contact(session, world.a)
    url = f"{BASE}/contact/{uuid}"
    headers = bearer(world.a.company_v3)
    assert (await client.get(url, headers=headers)).status_code == 404  # none yet

    data = {"crm_id": "C-42", "tags": ["vip"], "score": 1.5, "nested": {"ok": True}}
    response = await client.put(url, json=data, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object_type"] == "contact"
    assert body["uuid"] == uuid
    assert body["data"] == data
    assert body["modified_on"].endswith("Z")

    got = await client.get(url, headers=bearer(world.a.admin.personal_v3))
    assert got.status_code == 200
    assert got.json() == body

    # PUT replaces
    response = await client.put(url, json={"crm_id": "C-43"}, headers=headers)
    assert response.json()["data"] == {"crm_id": "C-43"}
    assert (await client.get(url, headers=headers)).json()["data"] == {"crm_id": "C-43"}
    # an empty object is data too
    assert (await client.put(url, json={}, headers=headers)).json()["data"] == {}

    response = await client.delete(url, headers=headers)
    assert response.status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404


async def test_every_checked_type(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    headers = bearer(world.a.company_v3)
    owner = await owner_id(session, world.a)
    group = ContactGroup(workspace_id=world.a.id, owner_id=owner, name="Group")
    label = Label(workspace_id=world.a.id, owner_id=owner, name="Label")
    session.add_all([group, label])
    await session.commit()
    user_uuid = (
        await session.execute(select(User.uuid).where(User.email == world.a.viewer.email))
    ).scalar_one()
    hook = await client.post(
        "/api/v3/webhooks",
        json={"url": "http://127.0.0.1:9/h", "events": ["*"]},
        headers=headers,
    )
    objects = {
        "contact": await contact(session, world.a),
        "group": group.uuid,
        "label": label.uuid,
        "user": user_uuid,
        "webhook": hook.json()["uuid"],
        "ticket": str(uuid4()),  # no table yet: any uuid
        "chat": str(uuid4()),
    }
    assert set(objects) == set(OBJECT_TYPES)
    for object_type, uuid in objects.items():
        url = f"{BASE}/{object_type}/{uuid}"
        response = await client.put(url, json={"type": object_type}, headers=headers)
        assert response.status_code == 200, (object_type, response.text)
        got = await client.get(url, headers=bearer(world.a.viewer.personal_v3))
        if object_type in ("contact", "group", "label"):
            assert got.status_code == 404  # a personal key sees only its own rows
        else:
            assert got.json()["data"] == {"type": object_type}
        # the other workspace: none of them exist there (unchecked types: no data there)
        response = await client.get(url, headers=bearer(world.b.company_v3))
        assert response.status_code == 404, object_type
        response = await client.put(url, json={"b": 1}, headers=bearer(world.b.company_v3))
        expected = 200 if object_type in ("ticket", "chat") else 404
        assert response.status_code == expected, object_type
    # B's data on the shared ticket uuid is B's own
    ticket = f"{BASE}/ticket/{objects['ticket']}"
    assert (await client.get(ticket, headers=headers)).json()["data"] == {"type": "ticket"}
    assert (await client.get(ticket, headers=bearer(world.b.company_v3))).json()["data"] == {"b": 1}


async def test_missing_and_foreign_objects_are_404(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    theirs = await contact(session, world.b)
    deleted = await contact(session, world.a, is_active=False)
    headers = bearer(world.a.company_v3)
    for uuid in (theirs, deleted, str(uuid4())):
        url = f"{BASE}/contact/{uuid}"
        assert (await client.put(url, json={"x": 1}, headers=headers)).status_code == 404
        assert (await client.get(url, headers=headers)).status_code == 404
    # B's own data on its contact is untouched by A
    url = f"{BASE}/contact/{theirs}"
    assert (
        await client.put(url, json={"x": 2}, headers=bearer(world.b.company_v3))
    ).status_code == 200
    assert (await client.delete(url, headers=headers)).status_code == 404
    assert (await client.get(url, headers=bearer(world.b.company_v3))).json()["data"] == {"x": 2}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("contacts/{uuid}", {"x": 1}, "object_type"),
        ("Contact/{uuid}", {"x": 1}, "object_type"),
        ("contact/not-a-uuid", {"x": 1}, "uuid"),
        ("ticket/123", {"x": 1}, "uuid"),
        ("ticket/{uuid}", [1, 2], None),
        ("ticket/{uuid}", "text", None),
        ("ticket/{uuid}", {"big": "x" * 9000}, "data"),
        ("ticket/{uuid}", {"n": 2**70}, "data"),
    ],
)
async def test_bad_requests_are_400(
    client: httpx.AsyncClient, world: World, path: str, body: Any, field: str | None
) -> None:
    url = f"{BASE}/{path.format(uuid=uuid4())}"
    response = await client.put(url, json=body, headers=bearer(world.a.company_v3))
    assert response.status_code == 400, response.text
    if field:
        assert field in response.json(), response.json()


async def test_writes_need_admin(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    url = f"{BASE}/ticket/{uuid4()}"
    for token in (world.a.viewer.personal_v3, world.a.editor.personal_v3):
        assert (await client.put(url, json={"x": 1}, headers=bearer(token))).status_code == 403
    assert (
        await client.put(url, json={"x": 1}, headers=bearer(world.a.admin.personal_v3))
    ).status_code == 200
    for token in (world.a.viewer.personal_v3, world.a.editor.personal_v3):
        assert (await client.get(url, headers=bearer(token))).status_code == 200
        assert (await client.delete(url, headers=bearer(token))).status_code == 403


async def test_events_embed_custom_data(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v3/webhooks",
        json={"url": "http://127.0.0.1:9/h", "events": ["contact.updated"]},
        headers=bearer(world.a.company_v3),
    )
    assert response.status_code == 201
    with_data = await contact(session, world.a)
    without = await contact(session, world.a)
    data = {"employee_id": "E-7", "flags": [1, 2]}
    response = await client.put(
        f"{BASE}/contact/{with_data}", json=data, headers=bearer(world.a.company_v3)
    )
    assert response.status_code == 200
    await events.emit(
        session,
        world.a.id,
        "contact.updated",
        [{"uuid": with_data, "name": "Ann"}, {"uuid": without, "name": "Bob"}],
    )
    await session.commit()
    bodies = [
        orjson.loads(b)
        for b in (
            await session.execute(
                select(WebhookEvent.body).where(WebhookEvent.type == "contact.updated")
            )
        ).scalars()
    ]
    by_uuid = {b["data"]["uuid"]: b["data"] for b in bodies}
    assert by_uuid[with_data]["custom_data"] == data
    assert by_uuid[with_data]["name"] == "Ann"
    assert by_uuid[without]["custom_data"] == {}


async def test_awkward_json_is_stored_or_refused_never_a_500(
    client: httpx.AsyncClient, world: World
) -> None:
    url = f"{BASE}/ticket/{uuid4()}"
    headers = {**bearer(world.a.company_v3), "Content-Type": "application/json"}
    for raw in (
        b'{"k\\u0000": "v\\u0000"}',
        b'{"lone": "\\ud800"}',
        b'{"nan": NaN, "inf": Infinity}',
        b'{"deep": ' + b"[" * 50 + b"]" * 50 + b"}",
        b'{"emoji": "\\ud83d\\ude00", "n": -9223372036854775808}',
    ):
        response = await client.put(url, content=raw, headers=headers)
        assert response.status_code in (200, 400), (raw, response.text)
        if response.status_code == 200:
            got = await client.get(url, headers=headers)
            assert got.json()["data"] == response.json()["data"]
