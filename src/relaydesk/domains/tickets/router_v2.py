"""REST v2: ``/api/v2/tickets.json``, ``/api/v2/ticket_actions.json`` and
``/api/v2/topics.json`` (RapidPro's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relaydesk.domains.tickets import service, topics
from relaydesk.domains.tickets.schemas import TicketActionWrite, TicketRead, TopicRead, TopicWrite
from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.auth import scopes
from relaydesk.infra.http import drf
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request, write_by
from relaydesk.infra.http.v2params import query_datetime, query_str, read_json
from relaydesk.models import Ticket, Topic

EXAMPLE_TICKET: dict[str, Any] = {
    "uuid": "9a8b001e-a913-486c-80f4-1356e23f582e",
    "contact": {"uuid": "f1ea776e-c923-4c1a-b3a3-0c466932b2cc", "name": "Jim"},
    "status": "open",
    "topic": {"uuid": "040edbfe-be55-48f3-864d-a4a7147c447b", "name": "Support"},
    "body": None,
    "assignee": {"email": "bob@example.com", "name": "Bob McFlow"},
    "opened_on": "2013-02-27T09:06:15.456789Z",
    "opened_by": None,
    "opened_in": None,
    "modified_on": "2013-02-27T09:07:18.234567Z",
    "closed_on": None,
}

TICKETS_DOC = EndpointDoc(
    slug="tickets",
    title="Tickets",
    summary="Lists the workspace's tickets, most recently modified first. Tickets are opened "
    "by the helpdesk (RapidPro's API has no way to open one either); change them with "
    "ticket_actions.",
    model=TicketRead,
    methods=("GET",),
    filters=(
        FieldDoc("contact", "string", "Only the tickets of the contact with this UUID."),
        FieldDoc("uuid", "string", "Only the ticket with this UUID (alias: ticket)."),
        FieldDoc("before", "datetime", "Only tickets modified on or before this time."),
        FieldDoc("after", "datetime", "Only tickets modified on or after this time."),
    ),
    example={"next": None, "previous": None, "results": [EXAMPLE_TICKET]},
)

ACTIONS_DOC = EndpointDoc(
    slug="ticket_actions",
    title="Ticket actions",
    summary="POST performs an action on up to 100 tickets at once: assign (assignee: the email "
    "of an administrator, editor or agent; null unassigns), add_note (note), change_topic "
    '(topic: a topic UUID), close or reopen. Answers 204 with no body, or 200 {"failures": '
    "[...]} with the UUIDs of the tickets the action did not change (e.g. closing a closed "
    "ticket); the others are changed.",
    model=TicketActionWrite,
    methods=("POST",),
    example={
        "tickets": [
            "55b6606d-9e89-45d1-a3e2-dc11f19f78df",
            "bef96b71-865d-480a-a660-33db466a210a",
        ],
        "action": "assign",
        "assignee": "jim@example.com",
    },
)

TOPICS_DOC = EndpointDoc(
    slug="topics",
    title="Ticket topics",
    summary='Lists the ticket topics, newest first. A POST with {"name": "Complaints"} '
    "creates a topic (201); with ?uuid=… it renames that topic (200). Every workspace has the "
    'system topic "General" (system: true), which can\'t be renamed (403). Names are at most '
    "64 characters and unique in the workspace ignoring case; a workspace has at most 250 "
    "topics besides General. counts are the topic's open and closed tickets. Agents read "
    "topics but can't write them.",
    model=TopicRead,
    methods=("GET", "POST"),
    example={
        "next": None,
        "previous": None,
        "results": [
            {
                "uuid": "9a8b001e-a913-486c-80f4-1356e23f582e",
                "name": "Support",
                "counts": {"open": 12, "closed": 345},
                "system": False,
                "created_on": "2013-02-27T09:06:15.456789Z",
            }
        ],
    },
)


def _datetime(request: Request, name: str) -> datetime | None:
    try:
        return query_datetime(request, name)
    except OverflowError:  # a valid ISO 8601 time whose UTC form is out of range
        raw = request.query_params.get(name)
        message = f"Value {raw!r} is not a valid ISO8601 date/time."
        raise InvalidArgs("Invalid datetime.", errors={name: [message]}) from None


async def list_tickets(call: V2Request) -> dict[str, Any]:
    request = call.request
    uuid = drf.query_uuid(request, "uuid") or drf.query_uuid(request, "ticket")
    stmt = service.list_query(
        call.principal,
        contact_uuid=query_str(request, "contact"),
        uuid=uuid,
        before=_datetime(request, "before"),
        after=_datetime(request, "after"),
    )

    async def render(tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
        return await service.render_many(call.session, tickets)

    return await keyset_page(
        call.session,
        stmt,
        request,
        sort=Ticket.modified_on,
        id_column=Ticket.id,
        render=render,
    )


async def ticket_actions(call: V2Request) -> Response:
    data = await read_json(call.request)
    result = await service.bulk_action(call.session, call.principal, data)
    await call.session.commit()
    if result.failures:
        return FastJSONResponse({"failures": result.failures}, status_code=200)
    return Response(status_code=204)


async def list_topics(call: V2Request) -> dict[str, Any]:
    return await keyset_page(
        call.session,
        topics.list_query(call.principal),
        call.request,
        sort=Topic.created_on,
        id_column=Topic.id,
        render=topics.renderer(call.session),
    )


write_topic = write_by("uuid", topics.resolve, topics.write, topics.render_written)


endpoints: list[V2Endpoint] = [
    V2Endpoint(
        doc=TICKETS_DOC,
        tag="tickets",
        read_scope=scopes.TICKETS_READ,
        write_scope=scopes.TICKETS_WRITE,
        operations={
            "GET": Operation(list_tickets, "List tickets", TicketRead, paginated=True),
        },
    ),
    V2Endpoint(
        doc=ACTIONS_DOC,
        tag="tickets",
        read_scope=scopes.TICKETS_READ,
        write_scope=scopes.TICKETS_WRITE,
        operations={
            "POST": Operation(
                ticket_actions,
                "Act on many tickets",
                status_code=204,
                body_model=TicketActionWrite,
            ),
        },
    ),
    V2Endpoint(
        doc=TOPICS_DOC,
        tag="tickets",
        read_scope=scopes.TICKETS_READ,
        write_scope=scopes.TICKETS_WRITE,
        operations={
            "GET": Operation(list_topics, "List ticket topics", TopicRead, paginated=True),
            "POST": Operation(
                write_topic,
                "Create or rename a ticket topic",
                TopicRead,
                201,
                body_model=TopicWrite,
            ),
        },
    ),
]
