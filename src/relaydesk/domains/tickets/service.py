"""Tickets: open (for the helpdesk/RPC doors), list and bulk actions, with RapidPro's
semantics (``TicketsEndpoint``, ``TicketActionsEndpoint``, ``TicketBulkActionSerializer``).

* :func:`open_ticket` writes the ticket, its ``opened`` event and queues ``ticket.created``
  (``data``: the ticket in its REST v2 shape, :func:`render_many`) in the caller's
  transaction. RapidPro's API has no way to open a ticket; the other doors call this.
* :func:`bulk_action` validates like DRF (every field's errors at once; the cross-field
  checks only when the fields are valid) and acts: ``assign``, ``add_note``,
  ``change_topic``, ``close``, ``reopen``. Each change is a ``ticket_events`` row and moves
  ``modified_on``; closing sets ``closed_on``, reopening clears it. Tickets the action did not
  change (already closed, already open, already assigned to that user, already of that topic)
  are returned as failures: the door answers 200 ``{"failures": [uuid, ...]}`` instead of 204.
* The RPC door (``rpc.py``) lists with :func:`filter_query`, reads :func:`history` rendered
  by :func:`render_history`, and changes one ticket with :func:`act` (the same actions).
* Assignees are users of the workspace who may be assigned tickets: administrators, editors
  and agents (RapidPro's ``tickets.ticket_assignee`` permission); viewers can't be.

Tickets are workspace-wide: any token of the workspace (personal or company) sees them all.
Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.tickets import repository, topics
from relaydesk.domains.tickets.schemas import ACTIONS, MAX_NOTE, MAX_TICKETS
from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    Contact,
    Ticket,
    TicketEvent,
    TicketEventType,
    TicketStatus,
    Topic,
    User,
)
from relaydesk.platform.webhooks import events

NOT_REF = "Must be a string or integer"
TOO_MANY = f"Ensure this field has no more than {MAX_TICKETS} elements."


# -- rendering ---------------------------------------------------------------------------------


def _user(refs: Mapping[int, tuple[str, str]], user_id: int | None) -> dict[str, str] | None:
    if user_id is None or user_id not in refs:
        return None
    email, name = refs[user_id]
    return {"email": email, "name": name}


async def render_many(session: AsyncSession, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """Tickets in RapidPro's shape (three queries for any number of tickets)."""
    contacts = await repository.contact_refs(session, [t.contact_id for t in tickets])
    topic_refs = await repository.topic_refs(session, [t.topic_id for t in tickets])
    users = await repository.user_refs(
        session,
        [uid for t in tickets for uid in (t.assignee_id, t.opened_by_id) if uid is not None],
    )
    wires = []
    for ticket in tickets:
        contact_uuid, contact_name = contacts[ticket.contact_id]
        topic_uuid, topic_name = topic_refs[ticket.topic_id]
        wires.append(
            {
                "uuid": ticket.uuid,
                "contact": {"uuid": contact_uuid, "name": contact_name},
                "status": ticket.status,
                "topic": {"uuid": topic_uuid, "name": topic_name},
                "body": None,
                "assignee": _user(users, ticket.assignee_id),
                "opened_on": format_datetime(ticket.opened_on),
                "opened_by": _user(users, ticket.opened_by_id),
                "opened_in": None,
                "modified_on": format_datetime(ticket.modified_on),
                "closed_on": format_datetime(ticket.closed_on),
            }
        )
    return wires


def list_query(
    principal: Principal,
    *,
    contact_uuid: str | None,
    uuid: str | None,
    before: datetime | None,
    after: datetime | None,
) -> Select[Any]:
    """The workspace's tickets; ``contact`` is an active contact's UUID (no such contact:
    nothing), ``uuid`` a ticket's, ``before``/``after`` bound ``modified_on`` (inclusive)."""
    contact = canonical_uuid(contact_uuid) if contact_uuid is not None else None
    if contact_uuid is not None and contact is None:
        contact = contact_uuid  # matches nothing, as in RapidPro (no 400)
    return repository.list_tickets(
        principal, contact_uuid=contact, uuid=uuid, before=before, after=after
    )


def filter_query(
    principal: Principal,
    *,
    status: str | None = None,
    assignee: User | None = None,
    topic: Topic | None = None,
    contact: Contact | None = None,
    opened_since: datetime | None = None,
    opened_until: datetime | None = None,
) -> Select[Any]:
    """The workspace's tickets with these (resolved) filters, for the RPC door's
    ``ticket.list``; ``opened_since`` is inclusive, ``opened_until`` exclusive."""
    return repository.filter_tickets(
        principal,
        status=status,
        assignee_id=assignee.id if assignee is not None else None,
        topic_id=topic.id if topic is not None else None,
        contact_id=contact.id if contact is not None else None,
        opened_since=opened_since,
        opened_until=opened_until,
    )


async def get(session: AsyncSession, principal: Principal, uuid: str) -> Ticket | None:
    """The workspace's ticket with ``uuid`` (any spelling of it), or None."""
    value = canonical_uuid(uuid)
    if value is None:
        return None
    return (await repository.tickets_by_uuid(session, principal.workspace_id, [value])).get(value)


async def find_contact(session: AsyncSession, principal: Principal, uuid: str) -> Contact | None:
    """The workspace's active contact with ``uuid`` (any spelling of it), or None."""
    value = canonical_uuid(uuid)
    if value is None:
        return None
    return await repository.active_contact(session, principal.workspace_id, value)


async def find_member(session: AsyncSession, principal: Principal, email: str) -> User | None:
    """The workspace's user with ``email`` whatever their role (to filter by assignee)."""
    return await repository.member_user(session, principal.workspace_id, email)


# -- opening -----------------------------------------------------------------------------------


async def resolve_assignee(session: AsyncSession, principal: Principal, email: str) -> User | None:
    """The workspace's assignable user (administrator, editor or agent) with ``email``."""
    return await repository.assignable_user(session, principal.workspace_id, email)


async def open_ticket(
    session: AsyncSession,
    principal: Principal,
    contact: Contact,
    topic: Topic | None = None,
    assignee: User | None = None,
    note: str | None = None,
) -> Ticket:
    """Open a ticket for ``contact`` (of the principal's workspace) with ``topic`` (default:
    the workspace's system topic), optionally assigned and with a first note. Writes the
    ticket, its ``opened`` event and one ``ticket.created`` outbox event in the caller's
    transaction."""
    workspace_id = principal.workspace_id
    errors: dict[str, list[str]] = {}
    if contact.workspace_id != workspace_id or not contact.is_active:
        errors["contact"] = [f"No such object: {contact.uuid}"]
    if topic is not None and (topic.workspace_id != workspace_id or not topic.is_active):
        errors["topic"] = [f"No such object: {topic.uuid}"]
    if assignee is not None and not await repository.is_assignable(
        session, workspace_id, assignee.id
    ):
        errors["assignee"] = [f"No such object: {assignee.email}"]
    if note is not None:
        note = note.strip() or None
        if note is not None:
            drf.add_error(errors, "note", drf.char_validators(note, MAX_NOTE))
    if errors:
        raise InvalidArgs("Invalid ticket.", errors=errors)
    if topic is None:
        topic = await topics.system_topic(session, workspace_id)

    now = utcnow()
    user_id = principal.user_id or None
    ticket = Ticket(
        workspace_id=workspace_id,
        contact_id=contact.id,
        topic_id=topic.id,
        assignee_id=assignee.id if assignee is not None else None,
        opened_by_id=user_id,
        status=TicketStatus.OPEN.value,
        opened_on=now,
        modified_on=now,
        closed_on=None,
    )
    repository.add(session, ticket)
    await session.flush()
    repository.add(
        session,
        TicketEvent(
            workspace_id=workspace_id,
            ticket_id=ticket.id,
            type=TicketEventType.OPENED.value,
            note=note,
            assignee_id=ticket.assignee_id,
            topic_id=topic.id,
            created_by_id=user_id,
            created_on=now,
        ),
    )
    await session.flush()

    async def render() -> list[dict[str, Any]]:
        return await render_many(session, [ticket])

    await events.emit(session, workspace_id, "ticket.created", render)
    return ticket


# -- bulk actions ------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(messages)
        self.messages = messages


def _ref(value: Any, *, allow_null: bool) -> str | None:
    """A DRF related field's input: a string or integer; ``""`` counts as null."""
    if value is None or value == "":
        if allow_null:
            return None
        raise _Invalid([drf.NULL])
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid([NOT_REF])
    return str(value)


async def _tickets(session: AsyncSession, principal: Principal, value: Any) -> list[Ticket]:
    if value is None:
        raise _Invalid([drf.NULL])
    if not isinstance(value, list):
        raise _Invalid([f'Expected a list of items but got type "{type(value).__name__}".'])
    if len(value) > MAX_TICKETS:
        raise _Invalid([TOO_MANY])
    refs: list[tuple[str, str | None]] = []
    for item in value:
        ref = _ref(item, allow_null=False)
        assert ref is not None
        refs.append((ref, canonical_uuid(ref)))
    found = await repository.tickets_by_uuid(
        session, principal.workspace_id, [uuid for _, uuid in refs if uuid is not None]
    )
    tickets: dict[int, Ticket] = {}
    for ref, uuid in refs:
        ticket = found.get(uuid) if uuid is not None else None
        if ticket is None:
            raise _Invalid([f"No such object: {ref}"])
        tickets.setdefault(ticket.id, ticket)
    return list(tickets.values())


@dataclass
class BulkResult:
    """``failures``: UUIDs of the tickets the action did not change (in request order)."""

    failures: list[str] = field(default_factory=list)


async def bulk_action(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> BulkResult:
    """``ticket_actions.json``: validate like RapidPro, then act on every ticket."""
    errors: dict[str, list[str]] = {}

    tickets: list[Ticket] = []
    if "tickets" not in data:
        errors["tickets"] = [drf.REQUIRED]
    else:
        try:
            tickets = await _tickets(session, principal, data["tickets"])
        except _Invalid as exc:
            errors["tickets"] = exc.messages

    action = data.get("action")
    if "action" not in data:
        errors["action"] = [drf.REQUIRED]
    elif action is None:
        errors["action"] = [drf.NULL]
    elif (
        isinstance(action, bool)
        or not isinstance(action, str | int | float)
        or str(action) not in ACTIONS
    ):
        errors["action"] = [f'"{action}" is not a valid choice.']

    assignee: User | None = None
    if "assignee" in data:
        try:
            email = _ref(data["assignee"], allow_null=True)
            if email is not None:
                assignee = await resolve_assignee(session, principal, email)
                if assignee is None:
                    raise _Invalid([f"No such object: {email}"])
        except _Invalid as exc:
            errors["assignee"] = exc.messages

    topic: Topic | None = None
    if "topic" in data:
        try:
            ref = _ref(data["topic"], allow_null=False)
            assert ref is not None
            topic = await topics.get(session, principal, ref)
            if topic is None:
                raise _Invalid([f"No such object: {ref}"])
        except _Invalid as exc:
            errors["topic"] = exc.messages

    note: str | None = None
    if "note" in data:
        try:
            note = drf.char(data["note"])
        except ValueError as exc:
            errors["note"] = [str(exc)]
        else:
            drf.add_error(errors, "note", drf.char_validators(note, MAX_NOTE))

    if errors:
        raise InvalidArgs("Invalid ticket action.", errors=errors)

    name = str(action)
    required = {"assign": "assignee", "add_note": "note", "change_topic": "topic"}.get(name)
    if required is not None:
        missing = "assignee" not in data if name == "assign" else not data.get(required)
        if missing:
            message = f'For action "{name}" you must specify the {required}'
            raise InvalidArgs(message, errors={"non_field_errors": [message]})

    changed = await _act(session, principal, name, tickets, assignee, topic, note)
    return BulkResult([t.uuid for t in tickets if t.id not in changed])


async def _act(
    session: AsyncSession,
    principal: Principal,
    action: str,
    tickets: list[Ticket],
    assignee: User | None,
    topic: Topic | None,
    note: str | None,
) -> set[int]:
    """Apply the action; returns the ids of the tickets it changed."""
    now = utcnow()
    user_id = principal.user_id or None
    assignee_id = assignee.id if assignee is not None else None
    changed: list[Ticket] = []
    kind: TicketEventType
    if action == "assign":
        kind = TicketEventType.ASSIGNED
        changed = [t for t in tickets if t.assignee_id != assignee_id]
        for ticket in changed:
            ticket.assignee_id = assignee_id
    elif action == "add_note":
        kind = TicketEventType.NOTE_ADDED
        changed = list(tickets)
    elif action == "change_topic":
        assert topic is not None
        kind = TicketEventType.TOPIC_CHANGED
        changed = [t for t in tickets if t.topic_id != topic.id]
        for ticket in changed:
            ticket.topic_id = topic.id
    elif action == "close":
        kind = TicketEventType.CLOSED
        changed = [t for t in tickets if t.status == TicketStatus.OPEN.value]
        for ticket in changed:
            ticket.status = TicketStatus.CLOSED.value
            ticket.closed_on = now
    else:  # reopen
        kind = TicketEventType.REOPENED
        changed = [t for t in tickets if t.status == TicketStatus.CLOSED.value]
        for ticket in changed:
            ticket.status = TicketStatus.OPEN.value
            ticket.closed_on = None
    for ticket in changed:
        ticket.modified_on = now
    # what the event records besides its type: the note, the new assignee, the new topic
    event_note = note if kind in (TicketEventType.NOTE_ADDED, TicketEventType.ASSIGNED) else None
    event_assignee = assignee_id if kind is TicketEventType.ASSIGNED else None
    event_topic = topic.id if kind is TicketEventType.TOPIC_CHANGED and topic else None
    repository.add_all(
        session,
        [
            TicketEvent(
                workspace_id=ticket.workspace_id,
                ticket_id=ticket.id,
                type=kind.value,
                note=event_note,
                assignee_id=event_assignee,
                topic_id=event_topic,
                created_by_id=user_id,
                created_on=now,
            )
            for ticket in changed
        ],
    )
    await session.flush()
    return {t.id for t in changed}


async def act(
    session: AsyncSession,
    principal: Principal,
    action: str,
    ticket: Ticket,
    *,
    assignee: User | None = None,
    topic: Topic | None = None,
    note: str | None = None,
) -> bool:
    """One action of ``ticket_actions`` (``assign``, ``add_note``, ``change_topic``, ``close``,
    ``reopen``) on one ticket, its arguments already resolved and valid; whether it changed
    the ticket (False: already so, and nothing was written)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown ticket action {action!r}")
    return ticket.id in await _act(session, principal, action, [ticket], assignee, topic, note)


async def history(session: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    """The ticket's events, oldest first (notes included)."""
    return await repository.events_of(session, ticket.id)


async def render_history(
    session: AsyncSession, ticket_events: Sequence[TicketEvent]
) -> list[dict[str, Any]]:
    """Events as the RPC door shows them: type, note, assignee (opened, assigned), topic
    (opened, topic_changed), created_by (null: the system or a company key) and created_on."""
    topic_refs = await repository.topic_refs(
        session, [e.topic_id for e in ticket_events if e.topic_id is not None]
    )
    users = await repository.user_refs(
        session,
        [uid for e in ticket_events for uid in (e.assignee_id, e.created_by_id) if uid is not None],
    )
    wires = []
    for event in ticket_events:
        topic = None
        if event.topic_id is not None and event.topic_id in topic_refs:
            topic_uuid, topic_name = topic_refs[event.topic_id]
            topic = {"uuid": topic_uuid, "name": topic_name}
        wires.append(
            {
                "type": event.type,
                "note": event.note,
                "assignee": _user(users, event.assignee_id),
                "topic": topic,
                "created_by": _user(users, event.created_by_id),
                "created_on": format_datetime(event.created_on),
            }
        )
    return wires
