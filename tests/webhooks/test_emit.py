"""Every committed change of contacts, groups, fields, labels and globals queues its event in
the same transaction (the transactional outbox), whatever door made it: here REST v2, and
the contacts service called directly.

Each event is one ``WebhookEvent`` (the envelope, ``data`` in the object's REST v2 shape plus
``custom_data``) and one ``WebhookMessage`` per subscribed webhook."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.contacts import service as contacts_service
from relaydesk.domains.groups import service as groups_service
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.models import (
    ContactGroup,
    CustomData,
    MessageStatus,
    Webhook,
    WebhookEvent,
    WebhookMessage,
    WebhookState,
)
from relaydesk.platform.webhooks import signing
from tests.conftest import Tenant, World, auth

V2 = "/api/v2"
CONTACTS = f"{V2}/contacts.json"
ACTIONS = f"{V2}/contact_actions.json"
GROUPS = f"{V2}/groups.json"
LABELS = f"{V2}/labels.json"
FIELDS = f"{V2}/fields.json"
GLOBALS = f"{V2}/globals.json"


# -- helpers ---------------------------------------------------------------------------------


async def hook(session: AsyncSession, tenant: Tenant, events: list[str], **kw: Any) -> Webhook:
    webhook = Webhook(
        uuid=str(uuid4()),
        workspace_id=tenant.id,
        url="http://127.0.0.1:9/hook",
        events=events,
        secret=signing.new_secret(),
        **kw,
    )
    session.add(webhook)
    await session.commit()
    return webhook


async def emitted(app: RelaydeskApp, event_type: str | None = None) -> list[dict[str, Any]]:
    """Committed envelopes, oldest first (a fresh session: sees every commit)."""
    async with app.state.sessionmaker() as s:
        stmt = select(WebhookEvent.type, WebhookEvent.body).order_by(WebhookEvent.id)
        if event_type is not None:
            stmt = stmt.where(WebhookEvent.type == event_type)
        rows = (await s.execute(stmt)).all()
    bodies = [orjson.loads(body) for _, body in rows]
    assert [b["type"] for b in bodies] == [t for t, _ in rows]
    return bodies


async def messages(app: RelaydeskApp) -> list[WebhookMessage]:
    async with app.state.sessionmaker() as s:
        stmt = select(WebhookMessage).order_by(WebhookMessage.id)
        return list((await s.execute(stmt)).scalars())


async def event_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(WebhookEvent))).scalar())


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def one(client: httpx.AsyncClient, token: str, url: str) -> dict[str, Any]:
    [item] = (await ok(await client.get(url, headers=auth(token))))["results"]
    return dict(item)


def check_envelope(body: dict[str, Any], event_type: str, tenant: Tenant) -> None:
    assert set(body) == {"id", "type", "timestamp", "workspace", "data"}
    assert body["id"].startswith("evt_")
    assert body["type"] == event_type
    assert body["timestamp"].endswith("Z")
    assert body["workspace"] == {"uuid": tenant.uuid, "name": tenant.name}


# -- contacts --------------------------------------------------------------------------------


async def test_contact_events_carry_the_v2_shape(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    a = world.a
    webhook = await hook(session, a, ["contact.*"])
    headers = auth(a.company)
    await ok(await client.post(GROUPS, json={"name": "Friends"}, headers=headers), 201)
    await ok(
        await client.post(FIELDS, json={"name": "Age", "type": "number"}, headers=headers), 201
    )
    assert await emitted(app) == []  # not subscribed to group.* or field.*

    created = await ok(
        await client.post(
            CONTACTS,
            json={
                "name": "Ann",
                "urns": ["tel:+250788000001"],
                "groups": ["Friends"],
                "fields": {"age": "41"},
            },
            headers=headers,
        ),
        201,
    )
    uuid = created["uuid"]
    [body] = await emitted(app)
    check_envelope(body, "contact.created", a)
    listed = await one(client, a.company, f"{CONTACTS}?uuid={uuid}")
    assert body["data"] == {**listed, "custom_data": {}}
    assert body["data"]["groups"] == [{"uuid": listed["groups"][0]["uuid"], "name": "Friends"}]
    assert body["data"]["fields"] == {"age": "41"}

    # one pending message for the one webhook, pointing at the event
    [message] = await messages(app)
    assert message.webhook_id == webhook.id
    assert message.event_type == "contact.created"
    assert message.status == MessageStatus.PENDING.value
    assert message.uuid.startswith("msg_")

    # update: the new state; custom data the user attached rides along
    session.add(
        CustomData(workspace_id=a.id, object_type="contact", object_uuid=uuid, data={"crm_id": 7})
    )
    await session.commit()
    await ok(await client.post(f"{CONTACTS}?uuid={uuid}", json={"name": "Anne"}, headers=headers))
    [body] = await emitted(app, "contact.updated")
    check_envelope(body, "contact.updated", a)
    listed = await one(client, a.company, f"{CONTACTS}?uuid={uuid}")
    assert listed["name"] == "Anne"
    assert body["data"] == {**listed, "custom_data": {"crm_id": 7}}

    # an update that changes nothing is no change: no event
    await ok(await client.post(f"{CONTACTS}?uuid={uuid}", json={"name": "Anne"}, headers=headers))
    assert len(await emitted(app, "contact.updated")) == 1

    # creating by ?urn= (nobody has it) is a create
    await ok(
        await client.post(
            f"{CONTACTS}?urn=tel%3A%2B250788000002", json={"name": "Bob"}, headers=headers
        ),
        201,
    )
    assert [b["data"]["name"] for b in await emitted(app, "contact.created")] == ["Ann", "Bob"]

    # delete: the contact in its deleted shape
    response = await client.delete(f"{CONTACTS}?uuid={uuid}", headers=headers)
    assert response.status_code == 204
    [body] = await emitted(app, "contact.deleted")
    check_envelope(body, "contact.deleted", a)
    gone = await one(client, a.company, f"{CONTACTS}?uuid={uuid}&deleted=true")
    assert body["data"] == {**gone, "custom_data": {"crm_id": 7}}
    # deleting it again changes nothing
    assert (await client.delete(f"{CONTACTS}?uuid={uuid}", headers=headers)).status_code == 204
    assert len(await emitted(app, "contact.deleted")) == 1
    assert len(await messages(app)) == len(await emitted(app)) == 4


async def test_contact_actions_emit_one_event_per_contact_changed(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    a = world.a
    headers = auth(a.company)
    await ok(await client.post(GROUPS, json={"name": "Testers"}, headers=headers), 201)
    uuids = [
        (
            await ok(
                await client.post(
                    CONTACTS,
                    json={"name": name, "urns": [f"tel:+25078800001{i}"]},
                    headers=headers,
                ),
                201,
            )
        )["uuid"]
        for i, name in enumerate(["Ann", "Bob", "Cat"])
    ]
    await hook(session, a, ["contact.updated", "contact.deleted", "group.*"])

    async def act(body: dict[str, Any]) -> None:
        await ok(await client.post(ACTIONS, json=body, headers=headers), 204)

    # block three: three events, each the blocked contact
    await act({"contacts": uuids, "action": "block"})
    updated = await emitted(app, "contact.updated")
    assert sorted(b["data"]["uuid"] for b in updated) == sorted(uuids)
    assert all(b["data"]["blocked"] and b["data"]["status"] == "blocked" for b in updated)
    assert len({b["id"] for b in updated}) == 3
    for body in updated:
        check_envelope(body, "contact.updated", a)
        listed = await one(client, a.company, f"{CONTACTS}?uuid={body['data']['uuid']}")
        assert body["data"] == {**listed, "custom_data": {}}

    # blocking them again changes nothing; unblocking one changes one
    await act({"contacts": uuids, "action": "block"})
    assert len(await emitted(app, "contact.updated")) == 3
    await act({"contacts": uuids, "action": "unblock"})
    assert len(await emitted(app, "contact.updated")) == 6

    # add two to a group (one already in it: only the other changes), then remove
    await act({"contacts": uuids[:1], "action": "add", "group": "Testers"})
    await act({"contacts": uuids[:2], "action": "add", "group": "Testers"})
    added = (await emitted(app, "contact.updated"))[6:]
    assert [b["data"]["uuid"] for b in added] == uuids[:2]
    assert all([g["name"] for g in b["data"]["groups"]] == ["Testers"] for b in added)
    await act({"contacts": uuids, "action": "remove", "group": "Testers"})
    removed = (await emitted(app, "contact.updated"))[8:]
    assert sorted(b["data"]["uuid"] for b in removed) == sorted(uuids[:2])
    assert all(b["data"]["groups"] == [] for b in removed)

    # interrupt and archive_messages change nothing
    await act({"contacts": uuids, "action": "interrupt"})
    await act({"contacts": uuids, "action": "archive_messages"})
    assert len(await emitted(app, "contact.updated")) == 10

    # delete: one contact.deleted per contact, in the deleted shape
    await act({"contacts": uuids[1:], "action": "delete"})
    deleted = await emitted(app, "contact.deleted")
    assert sorted(b["data"]["uuid"] for b in deleted) == sorted(uuids[1:])
    for body in deleted:
        gone = await one(client, a.company, f"{CONTACTS}?uuid={body['data']['uuid']}&deleted=true")
        assert body["data"] == {**gone, "custom_data": {}}

    # membership changes are contact events, never group events
    assert await emitted(app, "group.updated") == []


# -- groups, labels, fields, globals -------------------------------------------------------------


async def test_group_events(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    a = world.a
    headers = auth(a.company)
    await ok(await client.post(FIELDS, json={"name": "Team", "type": "text"}, headers=headers), 201)
    await hook(session, a, ["group.*"])

    group = await ok(await client.post(GROUPS, json={"name": "Staff"}, headers=headers), 201)
    [body] = await emitted(app, "group.created")
    check_envelope(body, "group.created", a)
    assert body["data"] == {**group, "custom_data": {}}
    assert body["data"] == {
        **await one(client, a.company, f"{GROUPS}?uuid={group['uuid']}"),
        "custom_data": {},
    }

    renamed = await ok(
        await client.post(f"{GROUPS}?uuid={group['uuid']}", json={"name": "Crew"}, headers=headers)
    )
    [body] = await emitted(app, "group.updated")
    assert body["data"] == {**renamed, "custom_data": {}}
    assert body["data"]["name"] == "Crew"

    # a contact joining the manual group, or matching a smart one, is no group event
    await ok(
        await client.post(
            CONTACTS,
            json={"name": "Ann", "groups": ["Crew"], "fields": {"team": "red"}},
            headers=headers,
        ),
        201,
    )
    smart = await ok(
        await client.post(GROUPS, json={"name": "Reds", "query": 'team = "red"'}, headers=headers),
        201,
    )
    assert smart["count"] == 1
    await ok(
        await client.post(
            CONTACTS, json={"name": "Bob", "fields": {"team": "red"}}, headers=headers
        ),
        201,
    )
    assert [b["type"] for b in await emitted(app)] == [
        "group.created",
        "group.updated",
        "group.created",
    ]
    assert (await emitted(app))[-1]["data"] == {**smart, "custom_data": {}}

    # deleted: as it was last seen (with its members' count)
    session.add(
        CustomData(
            workspace_id=a.id, object_type="group", object_uuid=group["uuid"], data={"k": "v"}
        )
    )
    await session.commit()
    last = await one(client, a.company, f"{GROUPS}?uuid={group['uuid']}")
    assert last["count"] == 1
    response = await client.delete(f"{GROUPS}?uuid={group['uuid']}", headers=headers)
    assert response.status_code == 204
    [body] = await emitted(app, "group.deleted")
    check_envelope(body, "group.deleted", a)
    assert body["data"] == {**last, "custom_data": {"k": "v"}}


async def test_label_field_and_global_events(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    a = world.a
    headers = auth(a.company)
    await hook(session, a, ["label.*", "field.*", "global.*"])

    label = await ok(await client.post(LABELS, json={"name": "Spam"}, headers=headers), 201)
    renamed = await ok(
        await client.post(f"{LABELS}?uuid={label['uuid']}", json={"name": "Ham"}, headers=headers)
    )
    assert (
        await client.delete(f"{LABELS}?uuid={label['uuid']}", headers=headers)
    ).status_code == 204
    bodies = await emitted(app)
    assert [b["type"] for b in bodies] == ["label.created", "label.updated", "label.deleted"]
    for body in bodies:
        check_envelope(body, body["type"], a)
    assert [b["data"] for b in bodies] == [
        {**label, "custom_data": {}},
        {**renamed, "custom_data": {}},
        {**renamed, "custom_data": {}},
    ]

    field = await ok(
        await client.post(FIELDS, json={"name": "Nick", "type": "text"}, headers=headers), 201
    )
    assert field == await one(client, a.company, f"{FIELDS}?key=nick")
    changed = await ok(
        await client.post(
            f"{FIELDS}?key=nick", json={"name": "Nick", "type": "number"}, headers=headers
        )
    )
    assert changed == await one(client, a.company, f"{FIELDS}?key=nick")
    [created] = await emitted(app, "field.created")
    [updated] = await emitted(app, "field.updated")
    check_envelope(created, "field.created", a)
    assert created["data"] == field  # keyed by key: no custom_data
    assert updated["data"] == changed

    item = await ok(
        await client.post(GLOBALS, json={"name": "Org Name", "value": "Acme"}, headers=headers), 201
    )
    assert item == await one(client, a.company, f"{GLOBALS}?key=org_name")
    changed = await ok(
        await client.post(f"{GLOBALS}?key=org_name", json={"value": "Acme Ltd"}, headers=headers)
    )
    assert changed == await one(client, a.company, f"{GLOBALS}?key=org_name")
    [created] = await emitted(app, "global.created")
    [updated] = await emitted(app, "global.updated")
    check_envelope(updated, "global.updated", a)
    assert created["data"] == item
    assert updated["data"] == changed
    assert len(await messages(app)) == len(await emitted(app)) == 7


# -- who gets what ---------------------------------------------------------------------------


async def test_two_webhooks_get_one_event_each(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first = await hook(session, world.a, ["contact.created"])
    second = await hook(session, world.a, ["*"])
    await ok(await client.post(CONTACTS, json={"name": "Ann"}, headers=auth(world.a.company)), 201)
    [body] = await emitted(app)
    found = await messages(app)
    assert sorted(m.webhook_id for m in found) == sorted([first.id, second.id])
    assert len({m.event_id for m in found}) == 1
    assert len({m.uuid for m in found}) == 2
    async with app.state.sessionmaker() as s:
        event_uuid = (
            await s.execute(select(WebhookEvent.uuid).where(WebhookEvent.id == found[0].event_id))
        ).scalar_one()
    assert event_uuid == body["id"]


async def test_filters_state_and_workspace_are_honoured(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    groups_only = await hook(session, world.a, ["group.*"])
    created_only = await hook(session, world.a, ["contact.created"])
    await hook(session, world.a, ["*"], state=WebhookState.DISABLED.value)
    await hook(session, world.a, ["*"], is_active=False)  # deleted
    other = await hook(session, world.b, ["*"])
    headers = auth(world.a.company)

    contact = await ok(await client.post(CONTACTS, json={"name": "Ann"}, headers=headers), 201)
    await ok(
        await client.post(
            f"{CONTACTS}?uuid={contact['uuid']}", json={"name": "Anna"}, headers=headers
        )
    )
    await ok(await client.post(GROUPS, json={"name": "Staff"}, headers=headers), 201)
    await ok(await client.post(LABELS, json={"name": "Spam"}, headers=headers), 201)

    # contact.updated and label.created: nobody listens, so no event at all
    assert [b["type"] for b in await emitted(app)] == ["contact.created", "group.created"]
    by_type = {m.event_type: m.webhook_id for m in await messages(app)}
    assert by_type == {"contact.created": created_only.id, "group.created": groups_only.id}

    # B's webhook gets B's events only
    await ok(await client.post(CONTACTS, json={"name": "Zed"}, headers=auth(world.b.company)), 201)
    body = (await emitted(app))[-1]
    check_envelope(body, "contact.created", world.b)
    assert [m.webhook_id for m in await messages(app)][-1:] == [other.id]


async def test_no_subscriber_no_rows_and_nothing_rendered(
    app: RelaydeskApp,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renders: list[int] = []
    real = groups_service.render_many

    async def counting(s: AsyncSession, groups: Any) -> list[dict[str, Any]]:
        renders.append(len(groups))
        return await real(s, groups)

    monkeypatch.setattr(groups_service, "render_many", counting)
    await hook(session, world.b, ["*"])  # another workspace's
    headers = auth(world.a.company)
    contact = await ok(await client.post(CONTACTS, json={"name": "Ann"}, headers=headers), 201)
    await ok(
        await client.post(
            ACTIONS, json={"contacts": [contact["uuid"]], "action": "block"}, headers=headers
        ),
        204,
    )
    await client.delete(f"{CONTACTS}?uuid={contact['uuid']}", headers=headers)
    group = await ok(await client.post(GROUPS, json={"name": "Staff"}, headers=headers), 201)
    await client.delete(f"{GROUPS}?uuid={group['uuid']}", headers=headers)
    await ok(await client.post(LABELS, json={"name": "Spam"}, headers=headers), 201)
    await ok(await client.post(FIELDS, json={"name": "Nick", "type": "text"}, headers=headers), 201)
    await ok(await client.post(GLOBALS, json={"name": "Org", "value": "x"}, headers=headers), 201)
    assert await emitted(app) == []
    assert await messages(app) == []
    assert renders == []  # the lazy form: nothing rendered for nobody

    await hook(session, world.a, ["group.created"])
    await ok(await client.post(GROUPS, json={"name": "Crew"}, headers=headers), 201)
    assert renders == [1]
    assert len(await emitted(app)) == 1


# -- the transactional outbox --------------------------------------------------------------------


async def test_a_rolled_back_change_emits_nothing(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    """The service writes the event in the caller's transaction: rolled back, it is gone."""
    await hook(session, world.a, ["contact.*"])
    principal = Principal.operator(world.a.id, world.a.uuid, "standard")
    locale = await contacts_service.locale_for(session, principal, app.state.workspace_cache)

    contact, created = await contacts_service.write(
        session, principal, locale, None, {"name": "Ann", "urns": ["tel:+250788000001"]}
    )
    assert created
    await contacts_service.bulk_action(
        session, principal, locale, {"contacts": [contact.uuid], "action": "block"}
    )
    assert await event_count(session) == 2  # written, in this transaction
    assert await emitted(app) == []  # not visible to anyone else yet
    await session.rollback()
    assert await event_count(session) == 0
    assert await emitted(app) == []
    assert await messages(app) == []

    # committed, the same change is there
    contact, _ = await contacts_service.write(session, principal, locale, None, {"name": "Bob"})
    await session.commit()
    [body] = await emitted(app)
    assert body["type"] == "contact.created"
    assert body["data"]["name"] == "Bob"


async def test_a_failed_request_after_the_emit_leaves_no_event(
    app: RelaydeskApp,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The group's event is written, then the request fails (a unique index conflict, 409)
    before its commit: neither the group nor its event remain."""
    await hook(session, world.a, ["group.*"])
    seen: list[int] = []

    async def conflict(s: AsyncSession, group: ContactGroup) -> int:
        seen.append(await event_count(s))
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(groups_service, "count_of", conflict)
    headers = auth(world.a.company)
    response = await client.post(GROUPS, json={"name": "Staff"}, headers=headers)
    assert response.status_code == 409, response.text
    assert seen == [1]  # the event was in the transaction when it failed
    assert await emitted(app) == []
    assert await messages(app) == []
    monkeypatch.undo()
    assert (await ok(await client.get(GROUPS, headers=headers)))["results"] == []


async def test_a_write_hitting_a_unique_index_leaves_no_event(
    app: RelaydeskApp,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await hook(session, world.a, ["label.*"])
    headers = auth(world.a.company)
    await ok(await client.post(LABELS, json={"name": "Spam"}, headers=headers), 201)
    monkeypatch.setattr(drf, "is_taken", lambda *args, **kwargs: False)  # the race
    response = await client.post(LABELS, json={"name": "spam"}, headers=headers)
    assert response.status_code == 409, response.text
    assert [b["data"]["name"] for b in await emitted(app)] == ["Spam"]
    assert len(await messages(app)) == 1


async def test_a_contact_post_failing_validation_leaves_no_event(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await hook(session, world.a, ["*"])
    headers = auth(world.a.company)
    await ok(
        await client.post(
            CONTACTS, json={"name": "Ann", "urns": ["tel:+250788000001"]}, headers=headers
        ),
        201,
    )
    # a URN in use by another contact: refused (400) after the lookup and validation work
    response = await client.post(
        CONTACTS, json={"name": "Bob", "urns": ["tel:+250788000001"]}, headers=headers
    )
    assert response.status_code == 400, response.text
    assert [b["data"]["name"] for b in await emitted(app)] == ["Ann"]
