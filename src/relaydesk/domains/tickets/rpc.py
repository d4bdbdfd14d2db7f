"""RPC methods for tickets: ``ticket.list``, ``ticket.get``, ``ticket.create``,
``ticket.update``, ``ticket.close``.

Tickets have REST v2's shape (:class:`TicketRead`) and change through the same service calls
as ``ticket_actions`` (:func:`service.act`) and the helpdesk (:func:`service.open_ticket`,
which emits ``ticket.created``). Reading needs ``tickets:read``, changing ``tickets:write``.
Tickets are workspace-wide: any credential of the workspace sees them all; another
workspace's ticket is ``not_found``. Arguments that name an object (contact, topic, assignee)
and name none of the workspace's are ``invalid_args`` on that argument (``No such object:
…``), never an empty result.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.tickets import service, topics
from relaydesk.domains.tickets.router_v2 import EXAMPLE_TICKET
from relaydesk.domains.tickets.schemas import MAX_NOTE, ObjectRef, TicketRead, UserRef
from relaydesk.exceptions import InvalidArgs, NotFound
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.http.rpc import Args, Call, IsoDatetime, Methods, PageArgs, cursor_page
from relaydesk.models import Contact, Ticket, TicketStatus, Topic, User

methods = Methods()

NOT_FOUND = "No ticket with this uuid."
ALREADY_CLOSED = "The ticket is already closed."

_UUID = EXAMPLE_TICKET["uuid"]
_CONTACT = EXAMPLE_TICKET["contact"]["uuid"]
_TOPIC = EXAMPLE_TICKET["topic"]["uuid"]
_CLOSED_TICKET = {
    **EXAMPLE_TICKET,
    "status": "closed",
    "modified_on": "2013-02-27T10:12:01.123456Z",
    "closed_on": "2013-02-27T10:12:01.123456Z",
}


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)]


# -- arguments and results ---------------------------------------------------------------------


class TicketListArgs(PageArgs):
    status: Literal["open", "closed"] | None = Field(
        default=None, description="Only open or only closed tickets."
    )
    agent: str | None = Field(
        default=None,
        validation_alias=AliasChoices("agent", "assignee"),
        description="Only the tickets assigned to the user with this email (alias: `assignee`).",
    )
    topic: str | None = Field(default=None, description="Only tickets of the topic with this UUID.")
    contact: str | None = Field(
        default=None, description="Only tickets of the contact with this UUID."
    )
    since: IsoDatetime = Field(
        default=None, description="Only tickets opened at or after this time (ISO 8601)."
    )
    until: IsoDatetime = Field(
        default=None, description="Only tickets opened before this time (ISO 8601)."
    )


class TicketList(BaseModel):
    tickets: list[TicketRead] = Field(description="Most recently opened first.")
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class TicketRef(Args):
    uuid: str = Field(description="The ticket's UUID.")


class TicketEventOut(BaseModel):
    type: Literal["opened", "assigned", "note_added", "topic_changed", "closed", "reopened"] = (
        Field(description="What happened.")
    )
    note: str | None = Field(description="The note (opened, assigned, note_added), or null.")
    assignee: UserRef | None = Field(
        description="opened: the first assignee; assigned: the new one (null: unassigned)."
    )
    topic: ObjectRef | None = Field(description="opened: the topic; topic_changed: the new one.")
    created_by: UserRef | None = Field(
        description="Who did it (null: the system or a company key)."
    )
    created_on: str = Field(description="When.")


class TicketWithHistory(BaseModel):
    ticket: TicketRead
    history: list[TicketEventOut] = Field(description="The ticket's events, oldest first.")


class TicketResult(BaseModel):
    ticket: TicketRead


class TicketCreateArgs(Args):
    contact: str = Field(description="The UUID of the contact the ticket is about.")
    topic: str | None = Field(
        default=None, description='The topic\'s UUID (default: the system topic, "General").'
    )
    assignee: str | None = Field(
        default=None,
        description="The email of an administrator, editor or agent of the workspace "
        "(default: unassigned).",
    )
    note: Note | None = Field(
        default=None, description=f"A first note (at most {MAX_NOTE} characters)."
    )


class TicketUpdateArgs(Args):
    uuid: str = Field(description="The ticket's UUID.")
    topic: str | None = Field(default=None, description="The new topic's UUID.")
    assignee: str | None = Field(
        default=None,
        description="The email of an administrator, editor or agent of the workspace; null "
        '(or "" in a form) unassigns. Omit it to keep the assignee.',
    )
    note: Note | None = Field(
        default=None, description=f"A note to add (at most {MAX_NOTE} characters)."
    )


class TicketCloseArgs(Args):
    uuid: str = Field(description="The ticket's UUID.")
    note: Note | None = Field(
        default=None,
        description=f"A note to add before closing (at most {MAX_NOTE} characters).",
    )


# -- helpers -----------------------------------------------------------------------------------


def _no_such(errors: dict[str, list[str]], key: str, ref: str) -> None:
    errors[key] = [f"No such object: {ref}"]


async def _topic(
    session: AsyncSession, principal: Principal, ref: str, errors: dict[str, list[str]]
) -> Topic | None:
    topic = await topics.get(session, principal, ref)
    if topic is None:
        _no_such(errors, "topic", ref)
    return topic


async def _assignee(
    session: AsyncSession, principal: Principal, email: str, errors: dict[str, list[str]]
) -> User | None:
    user = await service.resolve_assignee(session, principal, email)
    if user is None:
        _no_such(errors, "assignee", email)
    return user


async def _ticket(call: Call, uuid: str) -> Ticket:
    ticket = await service.get(call.session, call.principal, uuid)
    if ticket is None:
        raise NotFound(NOT_FOUND)
    return ticket


async def _render(call: Call, ticket: Ticket) -> dict[str, Any]:
    [wire] = await service.render_many(call.session, [ticket])
    return wire


def _check(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidArgs("Invalid arguments.", errors=errors)


# -- methods -----------------------------------------------------------------------------------


@methods.method(
    "ticket.list",
    scope=scopes.TICKETS_READ,
    example_args={"status": "open", "agent": "bob@example.com", "limit": 50},
    example_result={"tickets": [EXAMPLE_TICKET], "next": None},
)
async def list_tickets(call: Call, args: TicketListArgs) -> TicketList:
    """List the workspace's tickets, most recently opened first, one page at a time.

    Filters combine (all must match). `agent` is the assignee's email (any user of the
    workspace); `topic` and `contact` are UUIDs; `since` (inclusive) and `until` (exclusive)
    bound `opened_on`. A filter naming nothing in the workspace is `invalid_args` on it. Pass
    the reply's `next` as `cursor` for the following page (with the same filters). Tickets
    don't belong to properties or departments and have no tags yet: there are no filters for
    them.
    """
    session, principal = call.session, call.principal
    errors: dict[str, list[str]] = {}
    assignee: User | None = None
    if args.agent is not None:
        assignee = await service.find_member(session, principal, args.agent)
        if assignee is None:
            _no_such(errors, "agent", args.agent)
    topic = await _topic(session, principal, args.topic, errors) if args.topic is not None else None
    contact: Contact | None = None
    if args.contact is not None:
        contact = await service.find_contact(session, principal, args.contact)
        if contact is None:
            _no_such(errors, "contact", args.contact)
    if args.since is not None and args.until is not None and args.until <= args.since:
        errors["until"] = ["Must be later than since."]
    _check(errors)
    stmt = service.filter_query(
        principal,
        status=args.status,
        assignee=assignee,
        topic=topic,
        contact=contact,
        opened_since=args.since,
        opened_until=args.until,
    )
    rows, next_cursor = await cursor_page(
        session,
        stmt,
        cursor=args.cursor,
        limit=args.limit or call.settings.page_size,
        sort=Ticket.opened_on,
        id_column=Ticket.id,
    )
    wires = await service.render_many(session, rows)
    return TicketList.model_validate({"tickets": wires, "next": next_cursor})


@methods.method(
    "ticket.get",
    scope=scopes.TICKETS_READ,
    example_args={"uuid": _UUID},
    example_result={
        "ticket": EXAMPLE_TICKET,
        "history": [
            {
                "type": "opened",
                "note": "Asked for a call back",
                "assignee": None,
                "topic": EXAMPLE_TICKET["topic"],
                "created_by": None,
                "created_on": "2013-02-27T09:06:15.456789Z",
            },
            {
                "type": "assigned",
                "note": None,
                "assignee": EXAMPLE_TICKET["assignee"],
                "topic": None,
                "created_by": {"email": "ada@example.com", "name": "Ada Lovelace"},
                "created_on": "2013-02-27T09:07:18.234567Z",
            },
        ],
    },
)
async def get_ticket(call: Call, args: TicketRef) -> TicketWithHistory:
    """One ticket and its history: every event (opened, assigned, note_added, topic_changed,
    closed, reopened) with its note, who and when, oldest first.

    Another workspace's ticket, or a uuid that is none, is `not_found`.
    """
    ticket = await _ticket(call, args.uuid)
    events = await service.history(call.session, ticket)
    return TicketWithHistory.model_validate(
        {
            "ticket": await _render(call, ticket),
            "history": await service.render_history(call.session, events),
        }
    )


@methods.method(
    "ticket.create",
    scope=scopes.TICKETS_WRITE,
    example_args={
        "contact": _CONTACT,
        "topic": _TOPIC,
        "assignee": "bob@example.com",
        "note": "Asked for a call back",
    },
    example_result={"ticket": EXAMPLE_TICKET},
)
async def create_ticket(call: Call, args: TicketCreateArgs) -> TicketResult:
    """Open a ticket for a contact, optionally with a topic, an assignee and a first note.

    Emits `ticket.created` to the workspace's webhooks. An unknown (or deleted) contact, an
    unknown topic, or an assignee who is not an administrator, editor or agent of the
    workspace is `invalid_args` on that argument.
    """
    session, principal = call.session, call.principal
    errors: dict[str, list[str]] = {}
    contact = await service.find_contact(session, principal, args.contact)
    if contact is None:
        _no_such(errors, "contact", args.contact)
    topic = None
    if args.topic is not None:
        topic = await _topic(session, principal, args.topic, errors)
    assignee = await _assignee(session, principal, args.assignee, errors) if args.assignee else None
    _check(errors)
    assert contact is not None
    ticket = await service.open_ticket(session, principal, contact, topic, assignee, args.note)
    return TicketResult.model_validate({"ticket": await _render(call, ticket)})


@methods.method(
    "ticket.update",
    scope=scopes.TICKETS_WRITE,
    example_args={"uuid": _UUID, "assignee": "bob@example.com", "note": "Over to Bob"},
    example_result={"ticket": EXAMPLE_TICKET},
)
async def update_ticket(call: Call, args: TicketUpdateArgs) -> TicketResult:
    """Change a ticket's topic or assignee, or add a note to it (open or closed).

    Each change is an event of the ticket's history, as with `ticket_actions`: `assigned`,
    `topic_changed`, then `note_added` for the note. Setting what the ticket already has
    changes nothing (no event). Pass at least one of `topic`, `assignee` and `note`.
    """
    session, principal = call.session, call.principal
    fields = args.model_fields_set - {"uuid"}
    if not fields:
        message = "Nothing to change: pass topic, assignee or note."
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    ticket = await _ticket(call, args.uuid)
    errors: dict[str, list[str]] = {}
    topic = None
    if args.topic is not None:
        topic = await _topic(session, principal, args.topic, errors)
    assignee = await _assignee(session, principal, args.assignee, errors) if args.assignee else None
    if "topic" in fields and args.topic is None:
        errors["topic"] = [drf.NULL]
    _check(errors)
    if "assignee" in fields:
        await service.act(session, principal, "assign", ticket, assignee=assignee)
    if topic is not None:
        await service.act(session, principal, "change_topic", ticket, topic=topic)
    if args.note is not None:
        await service.act(session, principal, "add_note", ticket, note=args.note)
    return TicketResult.model_validate({"ticket": await _render(call, ticket)})


@methods.method(
    "ticket.close",
    scope=scopes.TICKETS_WRITE,
    example_args={"uuid": _UUID, "note": "Solved on the phone"},
    example_result={"ticket": _CLOSED_TICKET},
)
async def close_ticket(call: Call, args: TicketCloseArgs) -> TicketResult:
    """Close an open ticket, optionally adding a note first.

    A ticket that is already closed is `invalid_args` ("The ticket is already closed.", on
    `uuid`) and nothing is written, the note neither.
    """
    session, principal = call.session, call.principal
    ticket = await _ticket(call, args.uuid)
    if ticket.status != TicketStatus.OPEN.value:
        raise InvalidArgs(ALREADY_CLOSED, errors={"uuid": [ALREADY_CLOSED]})
    if args.note is not None:
        await service.act(session, principal, "add_note", ticket, note=args.note)
    await service.act(session, principal, "close", ticket)
    return TicketResult.model_validate({"ticket": await _render(call, ticket)})
