"""Tickets and topics on the wire (RapidPro's ``tickets.json``, ``ticket_actions.json`` and
``topics.json``; its ``TicketReadSerializer``, ``TicketBulkActionSerializer``,
``TopicReadSerializer`` and ``TopicWriteSerializer``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from relaydesk.infra.http import drf

MAX_TOPIC_NAME = 64
MAX_NOTE = 10_000  # RapidPro's Ticket.MAX_NOTE_LENGTH
MAX_TICKETS = 100

Action = Literal["assign", "add_note", "change_topic", "close", "reopen"]
ACTIONS: tuple[str, ...] = ("assign", "add_note", "change_topic", "close", "reopen")


class ObjectRef(BaseModel):
    uuid: str = Field(description="The UUID of the object.")
    name: str | None = Field(description="The name of the object.")


class UserRef(BaseModel):
    email: str = Field(description="The email address of the user.")
    name: str = Field(description="The full name of the user (may be empty).")


class TicketRead(BaseModel):
    """A ticket (RapidPro's ``tickets.json`` result; also the ``data`` of ``ticket.created``)."""

    uuid: str = Field(description="The UUID of the ticket, filterable as `uuid` (or `ticket`).")
    contact: ObjectRef = Field(description="The contact, filterable as `contact` (its UUID).")
    status: Literal["open", "closed"] = Field(description="open or closed.")
    topic: ObjectRef = Field(description="The topic of the ticket.")
    body: None = Field(description="Deprecated: always null (as in RapidPro).")
    assignee: UserRef | None = Field(description="The user the ticket is assigned to, or null.")
    opened_on: str = Field(description="When the ticket was opened.")
    opened_by: UserRef | None = Field(
        description="The user who opened the ticket (null when opened by the system)."
    )
    opened_in: ObjectRef | None = Field(
        description="The flow that opened the ticket: always null (Relaydesk has no flows)."
    )
    modified_on: str = Field(
        description="When the ticket last changed (any action), filterable as `before`/`after`."
    )
    closed_on: str | None = Field(description="When the ticket was closed, null while open.")


class TicketActionWrite(BaseModel):
    """POST body of ``ticket_actions.json``: 204 with no body, or 200 ``{"failures": [uuid,
    ...]}`` listing the tickets the action did not change."""

    tickets: list[str] = Field(
        max_length=MAX_TICKETS, description="UUIDs of the tickets (up to 100)."
    )
    action: Action = Field(description="assign, add_note, change_topic, close or reopen.")
    assignee: str | None = Field(
        default=None,
        description="assign: the email of an administrator, editor or agent of the workspace; "
        "null unassigns.",
    )
    topic: str | None = Field(default=None, description="change_topic: the UUID of a topic.")
    note: str | None = Field(
        default=None,
        max_length=MAX_NOTE,
        description="add_note: the note (at most 10000 characters).",
    )


class TopicCounts(BaseModel):
    open: int = Field(description="Open tickets with this topic.")
    closed: int = Field(description="Closed tickets with this topic.")


class TopicRead(BaseModel):
    """A ticket topic."""

    uuid: str = Field(description="The UUID of the topic.")
    name: str = Field(description="The name of the topic.")
    counts: TopicCounts = Field(description="The numbers of open and closed tickets.")
    system: bool = Field(description='Whether this is the system topic ("General"): not editable.')
    created_on: str = Field(description="When the topic was created.")


class TopicWrite(BaseModel):
    """POST body of ``topics.json``."""

    name: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None,
        description=f'The topic name (required; at most {MAX_TOPIC_NAME} characters, no " or '
        "\\, unique in the workspace ignoring case).",
    )
