"""Tickets, their topics and their history (RapidPro's ``tickets`` app).

Topics and tickets are workspace-wide (no owner): every agent of the workspace works the same
queue. ``ticket_events`` is the history of a ticket (opened, assigned, note added, topic
changed, closed, reopened), as RapidPro keeps ``TicketEvent`` rows; notes live there.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, column, func, text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models.mixins import WorkspaceScopedMixin


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TicketEventType(enum.StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    NOTE_ADDED = "note_added"
    TOPIC_CHANGED = "topic_changed"
    CLOSED = "closed"
    REOPENED = "reopened"


class Topic(WorkspaceScopedMixin, Base):
    """A ticket topic. Every workspace has one system topic, "General" (``is_system``), made
    with the workspace; it can't be renamed."""

    __tablename__ = "topics"
    __table_args__ = (
        Index(
            "uq_topics_active_name",
            column("workspace_id"),
            func.lower(column("name")),
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(64))
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(WorkspaceScopedMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_workspace_modified", "workspace_id", "modified_on", "id"),
        Index("ix_tickets_topic_status", "topic_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(8), default=TicketStatus.OPEN.value)
    opened_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)
    closed_on: Mapped[datetime | None] = mapped_column()


class TicketEvent(WorkspaceScopedMixin, Base):
    """One change of a ticket: ``type`` is a :class:`TicketEventType`; ``note`` for opened,
    assigned and note_added; ``assignee_id`` for assigned (null: unassigned); ``topic_id``
    for topic_changed."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
