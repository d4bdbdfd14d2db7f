"""Properties (a website or app with its chat widget and departments), their members (users
with a property role and departments) and the invitations to join them (docs/helpdesk.md).

* ``Property`` belongs to a workspace; ``is_active`` false means deleted.
* ``Department`` is one of a property's departments (names unique per property, any case).
* ``PropertyMember`` is a user's role in one property (owner, admin or agent); the departments
  they work in are ``property_member_departments`` rows.
* ``PropertyInvitation``: an emailed invitation; only the SHA-256 hash of its token is stored
  (the token itself is only in the email's accept link). ``accepted_on`` set: used.
"""

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
    String,
    Table,
    UniqueConstraint,
    column,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models.mixins import WorkspaceScopedMixin


class PropertyRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


class Property(WorkspaceScopedMixin, Base):
    __tablename__ = "properties"
    __table_args__ = (Index("ix_properties_workspace_created", "workspace_id", "created_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(255))
    widget: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (
        Index(
            "uq_departments_property_name",
            column("property_id"),
            func.lower(column("name")),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)


property_member_departments = Table(
    "property_member_departments",
    Base.metadata,
    Column(
        "member_id",
        ForeignKey("property_members.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "department_id",
        ForeignKey("departments.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class PropertyMember(Base):
    __tablename__ = "property_members"
    __table_args__ = (UniqueConstraint("property_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=PropertyRole.AGENT.value)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)


class PropertyInvitation(Base):
    __tablename__ = "property_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default=PropertyRole.AGENT.value)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # department uuids
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[datetime] = mapped_column()
    accepted_on: Mapped[datetime | None] = mapped_column()
