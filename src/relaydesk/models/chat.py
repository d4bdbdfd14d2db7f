"""Live chats on a property's widget (docs/helpdesk.md#chats).

* ``Visitor``: someone who opened the widget of a property; linked to a contact of the
  workspace (made at the chat's start, or found by the email given).
* ``Chat``: one conversation between a visitor and the property's agents: ``status`` is
  ``waiting`` (no agent reply yet), ``active`` (an agent replied) or ``ended``;
  ``first_response_on`` is the first agent reply; ``missed`` is set at the end when no agent
  ever replied. ``visitor_token_hash`` is the SHA-256 of the secret the visitor got at start.
* ``chat_tags``: the chat's tags (one row per tag, so lists and stats filter in SQL).
* ``ChatMessage``: one message, ``sender`` ``visitor``, ``agent`` (``agent_id`` set) or
  ``system``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models.mixins import WorkspaceScopedMixin


class ChatStatus(enum.StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class SenderKind(enum.StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    SYSTEM = "system"


class Visitor(WorkspaceScopedMixin, Base):
    __tablename__ = "visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    created_on: Mapped[datetime] = mapped_column(default=utcnow)


class Chat(WorkspaceScopedMixin, Base):
    __tablename__ = "chats"
    __table_args__ = (Index("ix_chats_workspace_started", "workspace_id", "started_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(8), default=ChatStatus.WAITING.value)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)
    visitor_token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256, hex
    started_on: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_on: Mapped[datetime | None] = mapped_column()
    ended_on: Mapped[datetime | None] = mapped_column()


chat_tags = Table(
    "chat_tags",
    Base.metadata,
    Column("chat_id", ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Index("ix_chat_tags_name", "name"),
)


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_chat", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(8))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
