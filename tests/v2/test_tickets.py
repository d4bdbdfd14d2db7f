"""REST v2 ``tickets.json`` against RapidPro's ``TicketsEndpointTest`` (shapes, filters, order),
and opening a ticket through the service: one ``ticket.created`` outbox event, in the same
transaction (nothing for a rolled-back open)."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook as Verifier

from relaydesk.app import RelaydeskApp
from relaydesk.domains.tickets import service, topics
from relaydesk.domains.tickets.schemas import TicketRead
from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.time import format_datetime
from relaydesk.models import (
    Contact,
    Role,
    Ticket,
    TicketEvent,
    Topic,
    User,
    Webhook,
    WebhookEvent,
    WebhookMessage,
)
from relaydesk.platform.webhooks import signing
from tests.conftest import Tenant, World, auth
from tests.v2.accounts import add_member
from tests.webhooks.sink import running_sink
from tests.webhooks.test_delivery import dispatcher

URL = "/api/v2/tickets.json"
ACTIONS = "/api/v2/ticket_actions.json"


# -- helpers (also used by test_ticket_actions and test_topics) --------------------------------


@pytest.fixture(autouse=True)
def keep_loaded(session: AsyncSession) -> None:
    """Objects the tests made stay readable after their commits (no lazy loads in async)."""
    session.sync_session.expire_on_commit = False


def operator(tenant: Tenant) -> Principal:
    return Principal.operator(tenant.id, tenant.uuid, "standard")


async def acting(session: AsyncSession, tenant: Tenant, email: str) -> Principal:
    """A principal acting as the workspace's user with ``email``."""
    user = (await session.execute(select(User).where(User.email == email))).scalar_one()
    return dataclasses.replace(
        operator(tenant), user_id=user.id, user_uuid=user.uuid, user_email=user.email
    )


async def user(session: AsyncSession, email: str) -> User:
    return (await session.execute(select(User).where(User.email == email))).scalar_one()


async def contact(session: AsyncSession, tenant: Tenant, name: str | None) -> Contact:
    row = Contact(workspace_id=tenant.id, name=name)
    session.add(row)
    await session.commit()
    return row


async def open_ticket(
    session: AsyncSession,
    tenant: Tenant,
    who: Contact,
    *,
    principal: Principal | None = None,
    topic: Topic | None = None,
    assignee: User | None = None,
    note: str | None = None,
) -> Ticket:
    ticket = await service.open_ticket(
        session, principal or operator(tenant), who, topic=topic, assignee=assignee, note=note
    )
    await session.commit()
    return ticket


async def general(session: AsyncSession, tenant: Tenant) -> Topic:
    return await topics.system_topic(session, tenant.id)


async def listed(client: httpx.AsyncClient, token: str, query: str = "") -> list[str]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["uuid"] for r in response.json()["results"]]


def name_of(u: User) -> str:
    return f"{u.first_name} {u.last_name}".strip()


# -- list --------------------------------------------------------------------------------------


async def test_list_shape_order_and_isolation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    bob = await contact(session, world.a, "Bob")
    jim = await contact(session, world.b, "Jim")
    admin = await user(session, world.a.admin.email)
    editor = await user(session, world.a.editor.email)

    t1 = await open_ticket(
        session, world.a, ann, principal=await acting(session, world.a, admin.email)
    )
    t2 = await open_ticket(session, world.a, bob)
    t3 = await open_ticket(session, world.a, bob, assignee=editor)
    other = (await open_ticket(session, world.b, jim)).uuid
    response = await client.post(
        ACTIONS, json={"tickets": [t1.uuid], "action": "close"}, headers=auth(world.a.company)
    )
    assert response.status_code == 204
    ids = [t.id for t in (t1, t2, t3)]
    session.expire_all()
    t1, t2, t3 = [await session.get_one(Ticket, i) for i in ids]
    for row in (ann, bob, admin, editor):
        await session.refresh(row)
    topic = await general(session, world.a)
    assert t1.closed_on is not None

    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 200
    general_ref = {"uuid": topic.uuid, "name": "General"}
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "uuid": t1.uuid,
                "contact": {"uuid": ann.uuid, "name": "Ann"},
                "status": "closed",
                "topic": general_ref,
                "body": None,
                "assignee": None,
                "opened_on": format_datetime(t1.opened_on),
                "opened_by": {"email": admin.email, "name": name_of(admin)},
                "opened_in": None,
                "modified_on": format_datetime(t1.modified_on),
                "closed_on": format_datetime(t1.closed_on),
            },
            {
                "uuid": t3.uuid,
                "contact": {"uuid": bob.uuid, "name": "Bob"},
                "status": "open",
                "topic": general_ref,
                "body": None,
                "assignee": {"email": editor.email, "name": name_of(editor)},
                "opened_on": format_datetime(t3.opened_on),
                "opened_by": None,
                "opened_in": None,
                "modified_on": format_datetime(t3.modified_on),
                "closed_on": None,
            },
            {
                "uuid": t2.uuid,
                "contact": {"uuid": bob.uuid, "name": "Bob"},
                "status": "open",
                "topic": general_ref,
                "body": None,
                "assignee": None,
                "opened_on": format_datetime(t2.opened_on),
                "opened_by": None,
                "opened_in": None,
                "modified_on": format_datetime(t2.modified_on),
                "closed_on": None,
            },
        ],
    }
    for item in response.json()["results"]:
        TicketRead.model_validate(item)
    # closing moved t1's modified_on; the closed time is the change time
    assert t1.modified_on == t1.closed_on
    assert t1.modified_on > t1.opened_on

    # B sees only its ticket, and every kind of token of A sees A's (tickets are workspace-wide)
    assert await listed(client, world.b.company) == [other]
    for token in (world.a.admin.personal, world.a.editor.personal, world.a.viewer.personal):
        assert await listed(client, token) == [t1.uuid, t3.uuid, t2.uuid]
    assert await listed(client, world.a.company, "?reverse=true") == [t2.uuid, t3.uuid, t1.uuid]


async def test_no_credentials_and_methods(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(URL)
    assert response.status_code == 403
    for method in ("POST", "DELETE"):
        response = await client.request(method, URL, headers=auth(world.a.company))
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_filters(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    ann = await contact(session, world.a, "Ann")
    bob = await contact(session, world.a, "Bob")
    jim = await contact(session, world.b, "Jim")
    t1 = await open_ticket(session, world.a, ann)
    t2 = await open_ticket(session, world.a, bob)
    t3 = await open_ticket(session, world.a, bob)
    t4 = await open_ticket(session, world.b, jim)
    token = world.a.company

    assert await listed(client, token, f"?contact={bob.uuid}") == [t3.uuid, t2.uuid]
    assert await listed(client, token, f"?contact={bob.uuid.upper()}") == [t3.uuid, t2.uuid]
    assert await listed(client, token, f"?contact={uuid4()}") == []
    assert await listed(client, token, "?contact=not-a-uuid") == []
    assert await listed(client, token, f"?contact={jim.uuid}") == []  # another workspace's
    assert await listed(client, token, f"?uuid={t1.uuid}") == [t1.uuid]
    assert await listed(client, token, f"?ticket={t2.uuid}") == [t2.uuid]
    assert await listed(client, token, f"?uuid={t4.uuid}") == []
    assert await listed(client, token, f"?contact={bob.uuid}&uuid={t1.uuid}") == []

    response = await client.get(URL + "?uuid=xyz", headers=auth(token))
    assert response.status_code == 400
    assert response.json() == {"detail": "Param 'uuid': xyz is not a valid UUID."}

    # before / after: modified_on, inclusive
    assert await listed(client, token, f"?after={format_datetime(t2.modified_on)}") == [
        t3.uuid,
        t2.uuid,
    ]
    assert await listed(client, token, f"?before={format_datetime(t2.modified_on)}") == [
        t2.uuid,
        t1.uuid,
    ]
    window = f"?after={format_datetime(t2.modified_on)}&before={format_datetime(t2.modified_on)}"
    assert await listed(client, token, window) == [t2.uuid]
    response = await client.get(URL + "?before=yesterday", headers=auth(token))
    assert response.status_code == 400
    assert response.json() == {"before": ["Value 'yesterday' is not a valid ISO8601 date/time."]}


async def test_pagination(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.state.settings, "page_size", 2)
    ann = await contact(session, world.a, "Ann")
    opened = [await open_ticket(session, world.a, ann) for _ in range(5)]
    await open_ticket(session, world.b, await contact(session, world.b, "Jim"))

    seen: list[str] = []
    url: str | None = URL + f"?contact={ann.uuid}"
    pages = 0
    while url is not None:
        response = await client.get(url, headers=auth(world.a.company))
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 2
        assert (body["previous"] is None) == (pages == 0)
        seen += [r["uuid"] for r in body["results"]]
        url = body["next"]
        if url is not None:
            assert url.startswith("http://testserver/api/v2/tickets.json?contact=")
        pages += 1
    assert pages == 3
    assert seen == [t.uuid for t in reversed(opened)]


# -- opening: the service and its event --------------------------------------------------------


async def hook(session: AsyncSession, tenant: Tenant, events: list[str]) -> Webhook:
    webhook = Webhook(
        uuid=str(uuid4()),
        workspace_id=tenant.id,
        url="http://127.0.0.1:9/hook",
        events=events,
        secret=signing.new_secret(),
    )
    session.add(webhook)
    await session.commit()
    return webhook


async def envelopes(app: RelaydeskApp) -> list[dict[str, Any]]:
    async with app.state.sessionmaker() as s:
        rows = (
            await s.execute(select(WebhookEvent.type, WebhookEvent.body).order_by(WebhookEvent.id))
        ).all()
    return [orjson.loads(body) for _, body in rows]


async def test_open_ticket_emits_one_event_with_the_api_shape(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    webhook = await hook(session, world.a, ["ticket.created"])
    await hook(session, world.b, ["*"])  # the other workspace hears nothing
    ann = await contact(session, world.a, "Ann")
    editor = await user(session, world.a.editor.email)
    ticket = await open_ticket(session, world.a, ann, assignee=editor, note="Needs a call")

    [envelope] = await envelopes(app)
    assert set(envelope) == {"id", "type", "timestamp", "workspace", "data"}
    assert envelope["type"] == "ticket.created"
    assert envelope["id"].startswith("evt_")
    assert envelope["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}
    [listed_ticket] = (await client.get(URL, headers=auth(world.a.company))).json()["results"]
    data = dict(envelope["data"])
    # custom_data is attached to the ticket and to its contact (registry: nested contact)
    assert data.pop("custom_data") == {}
    assert data["contact"].pop("custom_data") == {}
    assert data == listed_ticket
    assert data["uuid"] == ticket.uuid
    assert data["assignee"] == {"email": editor.email, "name": name_of(editor)}

    async with app.state.sessionmaker() as s:
        messages = list((await s.execute(select(WebhookMessage))).scalars())
        history = list((await s.execute(select(TicketEvent))).scalars())
    assert [(m.webhook_id, m.event_type) for m in messages] == [(webhook.id, "ticket.created")]
    assert [(e.type, e.note, e.assignee_id) for e in history] == [
        ("opened", "Needs a call", editor.id)
    ]


async def test_rolled_back_open_emits_nothing(
    world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    await hook(session, world.a, ["ticket.*"])
    ann = await contact(session, world.a, "Ann")
    await service.open_ticket(session, operator(world.a), ann)
    await session.rollback()
    assert await envelopes(app) == []
    async with app.state.sessionmaker() as s:
        assert (await s.execute(select(func.count(Ticket.id)))).scalar_one() == 0
    # without a subscriber the ticket is written and no event is kept
    await open_ticket(session, world.b, await contact(session, world.b, "Jim"))
    assert await envelopes(app) == []


async def test_open_ticket_checks_its_arguments(world: World, session: AsyncSession) -> None:
    jim = await contact(session, world.b, "Jim")
    ann = await contact(session, world.a, "Ann")
    viewer = await user(session, world.a.viewer.email)
    b_admin = await user(session, world.b.admin.email)
    b_topic = await general(session, world.b)
    with pytest.raises(InvalidArgs) as info:
        await service.open_ticket(session, operator(world.a), jim)
    assert info.value.errors == {"contact": [f"No such object: {jim.uuid}"]}
    with pytest.raises(InvalidArgs) as info:
        await service.open_ticket(
            session, operator(world.a), ann, topic=b_topic, assignee=viewer, note="x" * 10_001
        )
    assert info.value.errors == {
        "topic": [f"No such object: {b_topic.uuid}"],
        "assignee": [f"No such object: {viewer.email}"],
        "note": ["Ensure this field has no more than 10000 characters."],
    }
    with pytest.raises(InvalidArgs):
        await service.open_ticket(session, operator(world.a), ann, assignee=b_admin)
    await session.rollback()
    await session.refresh(ann)

    # a topic of its own workspace, an agent as assignee
    sales = await topics.write(session, operator(world.a), topics.Target(None), {"name": "Sales"})
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    agent_user = await user(session, agent.email)
    ticket = await open_ticket(session, world.a, ann, topic=sales.topic, assignee=agent_user)
    assert ticket.topic_id == sales.topic.id
    assert ticket.assignee_id == agent_user.id


async def test_ticket_created_reaches_a_loopback_sink(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    async with running_sink() as sink:
        webhook = Webhook(
            uuid=str(uuid4()),
            workspace_id=world.a.id,
            url=sink.url,
            events=["ticket.created"],
            secret=signing.new_secret(),
        )
        session.add(webhook)
        await session.commit()
        ticket = await open_ticket(session, world.a, await contact(session, world.a, "Ann"))
        async with dispatcher(app):
            await sink.wait_for(1)
        [got] = sink.received
        payload = Verifier(webhook.secret).verify(got.body, got.headers)
    assert payload["type"] == "ticket.created"
    assert payload["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}
    [wire] = (await client.get(URL, headers=auth(world.a.company))).json()["results"]
    data = payload["data"]
    assert data.pop("custom_data") == {}
    assert data["contact"].pop("custom_data") == {}
    assert data == wire
    assert wire["uuid"] == ticket.uuid


async def test_doc_pages_and_openapi(client: httpx.AsyncClient) -> None:
    for slug in ("tickets", "ticket_actions", "topics"):
        response = await client.get(f"/api/v2/{slug}")
        assert response.status_code == 200, slug
        assert "text/html" in response.headers["content-type"]
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/v2/tickets.json"]) == {"get"}
    assert set(paths["/api/v2/ticket_actions.json"]) == {"post"}
    assert set(paths["/api/v2/topics.json"]) == {"get", "post"}
    assert "OAuth scope: `tickets:write`" in paths["/api/v2/topics.json"]["post"]["description"]
    assert "OAuth scope: `tickets:read`" in paths["/api/v2/tickets.json"]["get"]["description"]
