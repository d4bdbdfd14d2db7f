"""ticket.list / ticket.get / ticket.create / ticket.update / ticket.close: REST v2's ticket
shape and ticket_actions' events, filters and pages, argument errors, scopes, isolation and
one ``ticket.created`` per create."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.tickets import topics
from relaydesk.models import Contact, Role, Ticket, TicketEvent, Topic
from tests.conftest import Tenant, World, auth
from tests.rpc.conftest import bearer, failed, ok, rpc
from tests.v2.accounts import add_member
from tests.v2.test_tickets import (
    contact,
    envelopes,
    general,
    hook,
    open_ticket,
    operator,
    user,
)

V2 = "/api/v2/tickets.json"
METHODS = ("ticket.list", "ticket.get", "ticket.create", "ticket.update", "ticket.close")


@pytest.fixture(autouse=True)
def keep_loaded(session: AsyncSession) -> None:
    session.sync_session.expire_on_commit = False


async def topic(session: AsyncSession, tenant: Tenant, name: str) -> Topic:
    written = await topics.write(session, operator(tenant), topics.Target(None), {"name": name})
    await session.commit()
    return written.topic


async def v2_tickets(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = await client.get(V2, headers=auth(tenant.company))
    assert response.status_code == 200, response.text
    return {t["uuid"]: t for t in response.json()["results"]}


async def events_of(session: AsyncSession, uuid: str) -> list[str]:
    rows = await session.execute(
        select(TicketEvent.type)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.uuid == uuid)
        .order_by(TicketEvent.id)
    )
    return list(rows.scalars())


async def ticket_count(app: RelaydeskApp) -> int:
    async with app.state.sessionmaker() as s:
        return int((await s.execute(select(func.count(Ticket.id)))).scalar_one())


# -- the whole life of a ticket ----------------------------------------------------------------


async def test_create_get_update_close(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    sales = await topic(session, world.a, "Sales")
    editor, admin = world.a.editor, world.a.admin
    key = editor.personal_v3

    body = ok(
        await rpc(
            client,
            "ticket.create",
            key,
            contact=ann.uuid.upper(),  # any spelling of a UUID
            topic=sales.uuid,
            assignee=admin.email.upper(),  # emails ignore case
            note="  Wants a call back  ",
        )
    )
    assert set(body) == {"ok", "ticket"}
    created = body["ticket"]
    uuid = created["uuid"]
    assert created["contact"] == {"uuid": ann.uuid, "name": "Ann"}
    assert created["topic"] == {"uuid": sales.uuid, "name": "Sales"}
    assert created["assignee"]["email"] == admin.email
    assert created["opened_by"]["email"] == editor.email
    assert created["status"] == "open"
    assert created["closed_on"] is None
    assert (await v2_tickets(client, world.a))[uuid] == created  # REST v2's shape

    got = ok(await rpc(client, "ticket.get", world.a.viewer.personal_v3, uuid=uuid))
    assert got["ticket"] == created
    [opened] = got["history"]
    assert opened == {
        "type": "opened",
        "note": "Wants a call back",
        "assignee": created["assignee"],
        "topic": {"uuid": sales.uuid, "name": "Sales"},
        "created_by": created["opened_by"],
        "created_on": created["opened_on"],
    }

    # update: reassign, move topic, add a note: one event each, in that order
    general_topic = await general(session, world.a)
    body = ok(
        await rpc(
            client,
            "ticket.update",
            admin.personal_v3,
            uuid=uuid,
            assignee=editor.email,
            topic=general_topic.uuid,
            note="Over to you",
        )
    )
    updated = body["ticket"]
    assert updated["assignee"]["email"] == editor.email
    assert updated["topic"] == {"uuid": general_topic.uuid, "name": "General"}
    assert updated["modified_on"] > created["modified_on"]
    assert (await v2_tickets(client, world.a))[uuid] == updated
    history = ok(await rpc(client, "ticket.get", key, uuid=uuid))["history"]
    assert [e["type"] for e in history] == ["opened", "assigned", "topic_changed", "note_added"]
    assigned, moved, noted = history[1:]
    assert assigned["assignee"]["email"] == editor.email
    assert assigned["note"] is None
    assert moved["topic"] == {"uuid": general_topic.uuid, "name": "General"}
    assert noted["note"] == "Over to you"
    assert {e["created_by"]["email"] for e in history[1:]} == {admin.email}

    # setting what the ticket already has writes nothing
    same = ok(await rpc(client, "ticket.update", key, uuid=uuid, assignee=editor.email))
    assert same["ticket"] == updated
    assert len(await events_of(session, uuid)) == 4

    # null unassigns; so does "" in a form
    body = ok(await rpc(client, "ticket.update", key, uuid=uuid, assignee=None))
    assert body["ticket"]["assignee"] is None
    ok(await rpc(client, "ticket.update", key, uuid=uuid, assignee=admin.email))
    response = await client.post(
        "/api/rpc/ticket.update", data={"uuid": uuid, "assignee": ""}, headers=bearer(key)
    )
    assert ok(response)["ticket"]["assignee"] is None

    # close with a note: note_added then closed
    body = ok(await rpc(client, "ticket.close", key, uuid=uuid, note="Solved"))
    closed = body["ticket"]
    assert closed["status"] == "closed"
    assert closed["closed_on"] is not None
    assert (await v2_tickets(client, world.a))[uuid] == closed
    assert (await events_of(session, uuid))[-2:] == ["note_added", "closed"]

    # closing a closed ticket: invalid_args, nothing written (not the note either)
    before = await events_of(session, uuid)
    body = failed(
        await rpc(client, "ticket.close", key, uuid=uuid, note="Again"), 400, "invalid_args"
    )
    assert body["message"] == "The ticket is already closed."
    assert body["args"] == {"uuid": ["The ticket is already closed."]}
    assert await events_of(session, uuid) == before

    # a closed ticket can still get notes, a topic and an assignee
    body = ok(await rpc(client, "ticket.update", key, uuid=uuid, note="Follow-up"))
    assert body["ticket"]["status"] == "closed"


async def test_create_defaults_and_company_key(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, None)
    body = ok(await rpc(client, "ticket.create", world.a.company_v3, contact=ann.uuid))
    ticket = body["ticket"]
    general_topic = await general(session, world.a)
    assert ticket["topic"] == {"uuid": general_topic.uuid, "name": "General"}
    assert ticket["assignee"] is None
    assert ticket["contact"] == {"uuid": ann.uuid, "name": None}
    history = ok(await rpc(client, "ticket.get", world.a.company_v3, uuid=ticket["uuid"]))
    [opened] = history["history"]
    assert opened["note"] is None
    assert opened["assignee"] is None
    # an agent can be assigned
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    body = ok(
        await rpc(
            client,
            "ticket.create",
            world.a.admin.personal_v3,
            contact=ann.uuid,
            assignee=agent.email,
        )
    )
    assert body["ticket"]["assignee"]["email"] == agent.email


async def test_create_emits_exactly_one_ticket_created(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    await hook(session, world.a, ["ticket.created"])
    await hook(session, world.b, ["*"])
    ann = await contact(session, world.a, "Ann")
    key = world.a.editor.personal_v3
    ticket = ok(await rpc(client, "ticket.create", key, contact=ann.uuid, note="Hi"))["ticket"]
    [envelope] = await envelopes(app)
    assert envelope["type"] == "ticket.created"
    assert envelope["workspace"]["uuid"] == world.a.uuid
    data = dict(envelope["data"])
    data.pop("custom_data", None)
    data["contact"] = {k: v for k, v in data["contact"].items() if k != "custom_data"}
    assert data == ticket

    # a create that fails writes neither a ticket nor an event; nor do the other methods
    failed(
        await rpc(client, "ticket.create", key, contact=ann.uuid, topic=str(uuid4())),
        400,
        "invalid_args",
    )
    uuid = ticket["uuid"]
    ok(await rpc(client, "ticket.update", key, uuid=uuid, note="More"))
    ok(await rpc(client, "ticket.close", key, uuid=uuid))
    assert len(await envelopes(app)) == 1
    assert await ticket_count(app) == 1


# -- argument errors ---------------------------------------------------------------------------


async def test_create_bad_args(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    ann = await contact(session, world.a, "Ann")
    jim = await contact(session, world.b, "Jim")
    gone = await contact(session, world.a, "Gone")
    gone.is_active = False
    await session.commit()
    b_topic = await general(session, world.b)
    key = world.a.admin.personal_v3

    # every argument's error at once
    body = failed(
        await rpc(
            client,
            "ticket.create",
            key,
            contact=jim.uuid,
            topic=b_topic.uuid,
            assignee=world.a.viewer.email,  # viewers can't be assigned
        ),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "contact": [f"No such object: {jim.uuid}"],
        "topic": [f"No such object: {b_topic.uuid}"],
        "assignee": [f"No such object: {world.a.viewer.email}"],
    }
    for bad in ("nope", gone.uuid, str(uuid4())):
        body = failed(await rpc(client, "ticket.create", key, contact=bad), 400, "invalid_args")
        assert body["args"] == {"contact": [f"No such object: {bad}"]}
    body = failed(
        await rpc(client, "ticket.create", key, contact=ann.uuid, assignee=world.b.admin.email),
        400,
        "invalid_args",
    )
    assert body["args"] == {"assignee": [f"No such object: {world.b.admin.email}"]}
    body = failed(await rpc(client, "ticket.create", key), 400, "invalid_args")
    assert body["args"] == {"contact": ["This field is required."]}
    body = failed(
        await rpc(client, "ticket.create", key, contact=ann.uuid, note="   ", colour="red"),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "note": ["This field may not be blank."],
        "colour": ["Unknown field."],
    }
    body = failed(
        await rpc(client, "ticket.create", key, contact=ann.uuid, note="x" * 10_001),
        400,
        "invalid_args",
    )
    assert body["args"] == {"note": ["Ensure this field has no more than 10000 characters."]}
    assert await ticket_count(app) == 0


async def test_update_and_close_bad_args(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    ticket = await open_ticket(session, world.a, ann)
    b_topic = await general(session, world.b)
    key = world.a.editor.personal_v3
    uuid = ticket.uuid

    body = failed(await rpc(client, "ticket.update", key, uuid=uuid), 400, "invalid_args")
    assert body["args"] == {
        "non_field_errors": ["Nothing to change: pass topic, assignee or note."]
    }
    body = failed(
        await rpc(
            client,
            "ticket.update",
            key,
            uuid=uuid,
            topic=b_topic.uuid,
            assignee="nobody@example.com",
            note="",
        ),
        400,
        "invalid_args",
    )
    assert body["args"] == {"note": ["This field may not be blank."]}  # the model's check first
    body = failed(
        await rpc(
            client,
            "ticket.update",
            key,
            uuid=uuid,
            topic=b_topic.uuid,
            assignee="nobody@example.com",
        ),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "topic": [f"No such object: {b_topic.uuid}"],
        "assignee": ["No such object: nobody@example.com"],
    }
    body = failed(
        await rpc(client, "ticket.update", key, uuid=uuid, topic=None), 400, "invalid_args"
    )
    assert body["args"] == {"topic": ["This field may not be null."]}
    assert await events_of(session, uuid) == ["opened"]

    for method in ("ticket.get", "ticket.update", "ticket.close"):
        for bad in ("not-a-uuid", str(uuid4())):
            extra = {} if method == "ticket.get" else {"note": "x"}
            body = failed(await rpc(client, method, key, uuid=bad, **extra), 404, "not_found")
            assert body["message"] == "No ticket with this uuid."
        body = failed(await rpc(client, method, key), 400, "invalid_args")
        assert body["args"] == {"uuid": ["This field is required."]}


# -- list: filters and pages -------------------------------------------------------------------


async def test_list_filters(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    ann = await contact(session, world.a, "Ann")
    bob = await contact(session, world.a, "Bob")
    sales = await topic(session, world.a, "Sales")
    admin = await user(session, world.a.admin.email)
    editor = await user(session, world.a.editor.email)
    base = datetime(2026, 11, 1, tzinfo=UTC)

    specs: list[tuple[Contact, Topic | None, Any, int]] = [
        (ann, None, None, 0),  # t0: day 0
        (ann, sales, admin, 1),
        (bob, sales, editor, 2),
        (bob, None, admin, 3),
    ]
    made: list[Ticket] = []
    for who, on_topic, assignee, day in specs:
        t = await open_ticket(session, world.a, who, topic=on_topic, assignee=assignee)
        t.opened_on = base + timedelta(days=day)
        made.append(t)
    await session.commit()
    t0, t1, t2, t3 = (t.uuid for t in made)
    key = world.a.viewer.personal_v3
    ok(await rpc(client, "ticket.close", world.a.editor.personal_v3, uuid=t1))

    async def listed(**args: Any) -> list[str]:
        body = ok(await rpc(client, "ticket.list", key, **args))
        assert set(body) == {"ok", "tickets", "next"}
        return [t["uuid"] for t in body["tickets"]]

    assert await listed() == [t3, t2, t1, t0]  # most recently opened first
    assert await listed(status="open") == [t3, t2, t0]
    assert await listed(status="closed") == [t1]
    assert await listed(agent=admin.email) == [t3, t1]
    assert await listed(assignee=editor.email.upper()) == [t2]  # the alias; any case
    # the filter finds users whatever their role now (a viewer has no tickets: empty)
    assert await listed(agent=world.a.viewer.email) == []
    assert await listed(topic=sales.uuid) == [t2, t1]
    assert await listed(contact=bob.uuid) == [t3, t2]
    assert await listed(since="2026-11-02") == [t3, t2, t1]  # inclusive
    assert await listed(until="2026-11-02T00:00:00Z") == [t0]  # exclusive
    assert await listed(since="2026-11-02T00:00:00+01:00", until="2026-11-03") == [t1]
    assert await listed(status="open", topic=sales.uuid, agent=editor.email, contact=bob.uuid) == [
        t2
    ]
    full = ok(await rpc(client, "ticket.list", key, contact=ann.uuid))["tickets"]
    v2 = await v2_tickets(client, world.a)
    assert full == [v2[t1], v2[t0]]  # REST v2's objects

    # bad filters: invalid_args on each
    b_topic = await general(session, world.b)
    jim = await contact(session, world.b, "Jim")
    body = failed(
        await rpc(
            client,
            "ticket.list",
            key,
            status="pending",
            since="yesterday",
            until="2026-13-01",
        ),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "status": ['"pending" is not a valid choice.'],
        "since": ["Not a valid ISO 8601 date/time."],
        "until": ["Not a valid ISO 8601 date/time."],
    }
    body = failed(
        await rpc(
            client,
            "ticket.list",
            key,
            agent=world.b.admin.email,
            topic=b_topic.uuid,
            contact=jim.uuid,
        ),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "agent": [f"No such object: {world.b.admin.email}"],
        "topic": [f"No such object: {b_topic.uuid}"],
        "contact": [f"No such object: {jim.uuid}"],
    }
    body = failed(
        await rpc(client, "ticket.list", key, since="2026-11-02", until="2026-11-02"),
        400,
        "invalid_args",
    )
    assert body["args"] == {"until": ["Must be later than since."]}
    body = failed(await rpc(client, "ticket.list", key, since=12), 400, "invalid_args")
    assert body["args"] == {"since": ["Not a valid ISO 8601 date/time."]}
    for limit in (0, 1001, "many"):
        body = failed(await rpc(client, "ticket.list", key, limit=limit), 400, "invalid_args")
        assert list(body["args"]) == ["limit"]


async def test_list_pages(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    ann = await contact(session, world.a, "Ann")
    base = datetime(2026, 11, 1, tzinfo=UTC)
    made: list[Ticket] = []
    for i in range(8):
        t = await open_ticket(session, world.a, ann)
        # two pairs share an opened_on: the id breaks the tie
        t.opened_on = base + timedelta(hours=i // 2 if i < 4 else i)
        made.append(t)
    await session.commit()
    newest_first = [t.uuid for t in sorted(made, key=lambda t: (t.opened_on, t.id), reverse=True)]
    key = world.a.company_v3

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        args: dict[str, Any] = {"limit": 3}
        if cursor:
            args["cursor"] = cursor
        body = ok(await rpc(client, "ticket.list", key, **args))
        seen += [t["uuid"] for t in body["tickets"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert pages == 3
    assert seen == newest_first

    # a page's cursor with the same filter: closed tickets are skipped, order kept
    for uuid in newest_first[1::2]:
        ok(await rpc(client, "ticket.close", key, uuid=uuid))
    first = ok(await rpc(client, "ticket.list", key, status="open", limit=2))
    second = ok(await rpc(client, "ticket.list", key, status="open", limit=2, cursor=first["next"]))
    assert [t["uuid"] for t in first["tickets"] + second["tickets"]] == newest_first[0::2]
    assert second["next"] is None

    body = failed(await rpc(client, "ticket.list", key, cursor="garbage"), 400, "invalid_args")
    assert body["args"] == {"cursor": ["Invalid cursor."]}


# -- credentials, scopes, workspaces -----------------------------------------------------------


async def test_auth_and_scopes(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    ann = await contact(session, world.a, "Ann")
    ticket = await open_ticket(session, world.a, ann)
    for method in METHODS:
        response = await client.post(f"/api/rpc/{method}", json={"uuid": ticket.uuid})
        failed(response, 401, "not_authed")
    viewer = world.a.viewer.personal_v3
    ok(await rpc(client, "ticket.list", viewer))
    ok(await rpc(client, "ticket.get", viewer, uuid=ticket.uuid))
    writes: dict[str, dict[str, Any]] = {
        "ticket.create": {"contact": ann.uuid},
        "ticket.update": {"uuid": ticket.uuid, "note": "x"},
        "ticket.close": {"uuid": ticket.uuid},
    }
    for method, args in writes.items():
        body = failed(await rpc(client, method, viewer, **args), 403, "forbidden")
        assert "tickets:write" in body["message"]
    assert await ticket_count(app) == 1
    assert await events_of(session, ticket.uuid) == ["opened"]


async def test_two_workspaces(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    jim = await contact(session, world.b, "Jim")
    mine = await open_ticket(session, world.a, ann)
    b_key = world.b.editor.personal_v3
    theirs = ok(await rpc(client, "ticket.create", b_key, contact=jim.uuid))["ticket"]
    a_key = world.a.admin.personal_v3

    listed = ok(await rpc(client, "ticket.list", a_key))
    assert [t["uuid"] for t in listed["tickets"]] == [mine.uuid]
    assert (
        ok(await rpc(client, "ticket.list", a_key, status="open"))["tickets"] == listed["tickets"]
    )
    b_listed = ok(await rpc(client, "ticket.list", b_key))
    assert [t["uuid"] for t in b_listed["tickets"]] == [theirs["uuid"]]

    for method, args in (
        ("ticket.get", {}),
        ("ticket.update", {"note": "peek"}),
        ("ticket.close", {}),
    ):
        body = failed(
            await rpc(client, method, a_key, uuid=theirs["uuid"], **args), 404, "not_found"
        )
        assert body["message"] == "No ticket with this uuid."
    assert await events_of(session, theirs["uuid"]) == ["opened"]
    assert ok(await rpc(client, "ticket.get", b_key, uuid=theirs["uuid"]))["ticket"] == theirs
