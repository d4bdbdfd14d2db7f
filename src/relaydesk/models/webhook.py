"""Webhooks v3: endpoints, the event outbox, messages (one per event and endpoint), attempts,
and the custom data users attach to objects (docs/webhooks.md, docs/decisions/0006).

* ``WebhookEvent`` is the outbox row: written in the transaction of the change that caused it
  (a rolled-back change leaves none). ``body`` is the envelope's JSON text, frozen at emit
  (objects' ``custom_data`` included; the webhook's own is added when sending).
* ``WebhookMessage`` is one event for one endpoint: what the worker claims, delivers, retries.
  Its ``uuid`` (``msg_…``) is the ``webhook-id`` header, the same on every attempt.
* ``WebhookAttempt`` is one HTTP attempt, also the circuit breaker's window.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.time import utcnow

# 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY (the rowid) is already 64-bit
BigId = BigInteger().with_variant(Integer, "sqlite")


class WebhookState(enum.StrEnum):
    HEALTHY = "healthy"
    THROTTLED = "throttled"  # circuit open: messages wait, one probe per interval
    DISABLED = "disabled"  # failing for days (or by hand): nothing is sent until re-enabled


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(255), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…: needed in clear to sign
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_on: Mapped[datetime | None] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default=WebhookState.HEALTHY.value)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    state_changed_on: Mapped[datetime] = mapped_column(default=utcnow)
    failing_since: Mapped[datetime | None] = mapped_column()  # first failure of the streak
    next_probe_on: Mapped[datetime | None] = mapped_column()  # throttled: next probe time
    window_start_on: Mapped[datetime | None] = mapped_column()  # circuit closed at
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)  # false: deleted
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True)  # evt_…
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(
        Text
    )  # the envelope; the webhook's custom_data is added at send
    created_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookMessage(Base):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        # the claim: due pending messages of one endpoint, oldest first
        Index("ix_webhook_messages_claim", "webhook_id", "status", "next_attempt_on", "id"),
        Index("ix_webhook_messages_listing", "webhook_id", "created_on", "id"),
        Index("ix_webhook_messages_purge", "status", "created_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True)  # msg_…, the webhook-id header
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.PENDING.value)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)  # since the last (re)queue
    next_attempt_on: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_on: Mapped[datetime | None] = mapped_column()
    delivered_on: Mapped[datetime | None] = mapped_column()


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_window", "webhook_id", "attempted_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    attempted_on: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)  # the start of the response body
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomData(Base):
    """A user's own data on one object (``contact``, ``user``, ``group``, …), embedded as
    ``custom_data`` in that object wherever an event carries it."""

    __tablename__ = "custom_data"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "object_type", "object_uuid", name="uq_custom_data_object"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(32))
    object_uuid: Mapped[str] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    modified_on: Mapped[datetime] = mapped_column(default=utcnow)
