"""Contacts, their URNs, groups, fields, labels and globals (RapidPro's data model)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models.mixins import OwnedMixin, WorkspaceScopedMixin


class ContactStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    STOPPED = "stopped"
    ARCHIVED = "archived"


class Contact(OwnedMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_workspace_modified", "workspace_id", "modified_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=ContactStatus.ACTIVE.value)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field key -> value
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)  # False = deleted
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_on: Mapped[datetime | None] = mapped_column()


class ContactURN(WorkspaceScopedMixin, Base):
    """``scheme:path``; one contact per identity per workspace (a detached URN has no contact)."""

    __tablename__ = "contact_urns"
    __table_args__ = (UniqueConstraint("workspace_id", "identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    scheme: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(255))
    identity: Mapped[str] = mapped_column(String(300))
    priority: Mapped[int] = mapped_column(Integer, default=1000)


contact_group_members = Table(
    "contact_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_contact_group_members_contact", "contact_id"),
)


class GroupStatus(enum.StrEnum):
    INITIALIZING = "initializing"
    EVALUATING = "evaluating"
    READY = "ready"
    FAILED = "failed"


def _active_unique(name: str, *expressions: Any) -> Index:
    """Unique among a workspace's active rows. The services check names first, with RapidPro's
    messages; this is the backstop against two concurrent creates (the v2 door answers 409)."""
    return Index(
        name,
        *expressions,
        unique=True,
        sqlite_where=text("is_active"),
        postgresql_where=text("is_active"),
    )


class ContactGroup(OwnedMixin, Base):
    """A manual group (``query`` null) or a smart group defined by a contact query."""

    __tablename__ = "contact_groups"
    __table_args__ = (
        _active_unique(
            "uq_contact_groups_active_name", column("workspace_id"), func.lower(column("name"))
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(64))
    query: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.READY.value)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATETIME = "datetime"
    STATE = "state"
    DISTRICT = "district"
    WARD = "ward"


class ContactField(WorkspaceScopedMixin, Base):
    """A custom contact field: part of the workspace's schema, shared by all its tokens."""

    __tablename__ = "contact_fields"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(36))
    value_type: Mapped[str] = mapped_column(String(16), default=FieldType.TEXT.value)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class Label(OwnedMixin, Base):
    """A message label (``count``: labelled messages, once messages exist)."""

    __tablename__ = "labels"
    __table_args__ = (
        _active_unique("uq_labels_active_name", column("workspace_id"), func.lower(column("name"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class Global(OwnedMixin, Base):
    """A workspace global (``@globals.key`` in flows)."""

    __tablename__ = "globals"
    __table_args__ = (
        _active_unique("uq_globals_active_key", column("workspace_id"), column("key")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(36))
    value: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)
