"""REST v2 ``ticket_actions.json`` against RapidPro's ``TicketActionsEndpointTest``: each action,
bulk, RapidPro's validation messages, partial failures, isolation and permissions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.tickets import topics
from relaydesk.models import Role, Ticket, TicketEvent, TicketStatus
from tests.conftest import World, auth
from tests.v2.accounts import add_member
from tests.v2.test_tickets import contact, open_ticket, operator, user

URL = "/api/v2/ticket_actions.json"


@pytest.fixture(autouse=True)
def keep_loaded(session: AsyncSession) -> None:
    session.sync_session.expire_on_commit = False


async def post(client: httpx.AsyncClient, token: str, body: Any) -> httpx.Response:
    return await client.post(URL, json=body, headers=auth(token))


async def fresh(session: AsyncSession, ticket: Ticket) -> Ticket:
    await session.refresh(ticket)
    return ticket


async def test_validation_messages(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    t1 = await open_ticket(session, world.a, ann)
    other = await open_ticket(session, world.b, await contact(session, world.b, "Jim"))
    token = world.a.company

    cases: list[tuple[Any, dict[str, Any]]] = [
        (
            {"tickets": [str(x) for x in range(101)], "action": "close"},
            {"tickets": ["Ensure this field has no more than 100 elements."]},
        ),
        (
            {"tickets": [t1.uuid, other.uuid], "action": "close"},
            {"tickets": [f"No such object: {other.uuid}"]},
        ),
        ({"action": "close"}, {"tickets": ["This field is required."]}),
        ({"tickets": None, "action": "close"}, {"tickets": ["This field may not be null."]}),
        (
            {"tickets": t1.uuid, "action": "close"},
            {"tickets": ['Expected a list of items but got type "str".']},
        ),
        ({"tickets": [True], "action": "close"}, {"tickets": ["Must be a string or integer"]}),
        ({"tickets": ["xyz"], "action": "close"}, {"tickets": ["No such object: xyz"]}),
        ({"tickets": [t1.uuid]}, {"action": ["This field is required."]}),
        ({"tickets": [t1.uuid], "action": "spam"}, {"action": ['"spam" is not a valid choice.']}),
        ({"tickets": [t1.uuid], "action": None}, {"action": ["This field may not be null."]}),
        (
            {"tickets": [t1.uuid], "action": "assign", "assignee": "nobody@example.com"},
            {"assignee": ["No such object: nobody@example.com"]},
        ),
        (
            # viewers can't be assigned; users of another workspace either
            {"tickets": [t1.uuid], "action": "assign", "assignee": world.a.viewer.email},
            {"assignee": [f"No such object: {world.a.viewer.email}"]},
        ),
        (
            {"tickets": [t1.uuid], "action": "assign", "assignee": world.b.admin.email},
            {"assignee": [f"No such object: {world.b.admin.email}"]},
        ),
        (
            {"tickets": [t1.uuid], "action": "assign", "assignee": ["x"]},
            {"assignee": ["Must be a string or integer"]},
        ),
        (
            {"tickets": [t1.uuid], "action": "change_topic", "topic": "xyz"},
            {"topic": ["No such object: xyz"]},
        ),
        (
            {"tickets": [t1.uuid], "action": "change_topic", "topic": None},
            {"topic": ["This field may not be null."]},
        ),
        (
            {"tickets": [t1.uuid], "action": "add_note", "note": "x" * 10_001},
            {"note": ["Ensure this field has no more than 10000 characters."]},
        ),
        (
            {"tickets": [t1.uuid], "action": "add_note", "note": "  "},
            {"note": ["This field may not be blank."]},
        ),
        (
            # every failing field at once
            {"tickets": ["xyz"], "action": "spam", "topic": "abc"},
            {
                "tickets": ["No such object: xyz"],
                "action": ['"spam" is not a valid choice.'],
                "topic": ["No such object: abc"],
            },
        ),
        (
            {"tickets": [t1.uuid], "action": "assign"},
            {"non_field_errors": ['For action "assign" you must specify the assignee']},
        ),
        (
            {"tickets": [t1.uuid], "action": "add_note"},
            {"non_field_errors": ['For action "add_note" you must specify the note']},
        ),
        (
            {"tickets": [t1.uuid], "action": "change_topic"},
            {"non_field_errors": ['For action "change_topic" you must specify the topic']},
        ),
        ([t1.uuid], {"non_field_errors": ["Request body should be a single JSON object"]}),
    ]
    for body, errors in cases:
        response = await post(client, token, body)
        assert response.status_code == 400, body
        assert response.json() == errors, body

    # nothing was touched, in either workspace
    assert (await fresh(session, t1)).status == TicketStatus.OPEN.value
    assert (await fresh(session, other)).status == TicketStatus.OPEN.value
    assert list((await session.execute(select(TicketEvent.type))).scalars()) == ["opened"] * 2


async def test_each_action_in_bulk(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    joe = await contact(session, world.a, "Joe")
    frank = await contact(session, world.a, "Frank")
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    agent_user = await user(session, agent.email)
    editor = await user(session, world.a.editor.email)
    sales = (
        await topics.write(session, operator(world.a), topics.Target(None), {"name": "Sales"})
    ).topic
    await session.commit()
    t1 = await open_ticket(session, world.a, joe)
    t2 = await open_ticket(session, world.a, joe)
    t3 = await open_ticket(session, world.a, frank)
    both = [t1.uuid, t2.uuid]
    token = agent.token  # agents work tickets

    # close t1 first, as RapidPro's test starts with a closed ticket
    assert (await post(client, token, {"tickets": [t1.uuid], "action": "close"})).status_code == 204
    closed_on = (await fresh(session, t1)).closed_on
    assert closed_on is not None

    # assign (closed tickets too), by email in any case
    body = {"tickets": both, "action": "assign", "assignee": agent.email.upper()}
    response = await post(client, token, body)
    assert response.status_code == 204
    assert response.content == b""
    for ticket in (t1, t2):
        assert (await fresh(session, ticket)).assignee_id == agent_user.id
    before = (await fresh(session, t3)).modified_on

    # unassign: null
    body = {"tickets": [t1.uuid], "action": "assign", "assignee": None}
    assert (await post(client, world.a.company, body)).status_code == 204
    assert (await fresh(session, t1)).assignee_id is None

    # a note
    body = {"tickets": both, "action": "add_note", "note": " Looks important "}
    modified = (await fresh(session, t2)).modified_on
    assert (await post(client, token, body)).status_code == 204
    assert (await fresh(session, t2)).modified_on > modified

    # change topic
    body = {"tickets": both, "action": "change_topic", "topic": sales.uuid}
    assert (await post(client, token, body)).status_code == 204
    assert (await fresh(session, t1)).topic_id == sales.id
    assert (await fresh(session, t2)).topic_id == sales.id

    # close: t1 is already closed, so it is a failure; t2 is closed
    response = await post(client, token, {"tickets": both, "action": "close"})
    assert response.status_code == 200
    assert response.json() == {"failures": [t1.uuid]}
    assert (await fresh(session, t1)).closed_on == closed_on  # untouched
    assert (await fresh(session, t2)).status == TicketStatus.CLOSED.value

    # reopen both: closed_on cleared
    response = await post(client, token, {"tickets": both, "action": "reopen"})
    assert response.status_code == 204
    for ticket in (t1, t2):
        await fresh(session, ticket)
        assert (ticket.status, ticket.closed_on) == (TicketStatus.OPEN.value, None)
    # reopening an open ticket is a failure, like closing a closed one
    response = await post(client, token, {"tickets": [t2.uuid, t1.uuid], "action": "reopen"})
    assert response.json() == {"failures": [t2.uuid, t1.uuid]}

    # assigning to the current assignee changes nothing: a failure; duplicates count once
    body = {"tickets": [t2.uuid, t2.uuid], "action": "assign", "assignee": agent.email}
    assert (await post(client, token, body)).json() == {"failures": [t2.uuid]}
    body = {"tickets": [t2.uuid], "action": "assign", "assignee": editor.email}
    assert (await post(client, token, body)).status_code == 204
    assert (await post(client, token, {"tickets": [], "action": "close"})).status_code == 204

    # t3 was never named
    assert (await fresh(session, t3)).modified_on == before

    # the history, oldest first
    general_id = (await topics.system_topic(session, world.a.id)).id
    rows = (
        await session.execute(
            select(
                TicketEvent.type, TicketEvent.note, TicketEvent.assignee_id, TicketEvent.topic_id
            )
            .where(TicketEvent.ticket_id == t1.id)
            .order_by(TicketEvent.id)
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("opened", None, None, general_id),
        ("closed", None, None, None),
        ("assigned", None, agent_user.id, None),
        ("assigned", None, None, None),
        ("note_added", "Looks important", None, None),
        ("topic_changed", None, None, sales.id),
        ("reopened", None, None, None),
    ]


async def test_permissions_and_isolation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    ann = await contact(session, world.a, "Ann")
    t1 = await open_ticket(session, world.a, ann)
    body = {"tickets": [t1.uuid], "action": "close"}

    response = await client.post(URL, json=body)
    assert response.status_code == 403
    response = await post(client, world.a.viewer.personal, body)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    # B's tokens can't name A's tickets
    response = await post(client, world.b.company, body)
    assert response.status_code == 400
    assert response.json() == {"tickets": [f"No such object: {t1.uuid}"]}
    assert (await fresh(session, t1)).status == TicketStatus.OPEN.value
    for method in ("GET", "DELETE"):
        response = await client.request(method, URL, headers=auth(world.a.company))
        assert response.status_code == 405

    # an editor's personal token acts on the workspace's tickets
    assert (await post(client, world.a.editor.personal, body)).status_code == 204
