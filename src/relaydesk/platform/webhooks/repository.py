"""Queries of the webhooks management API and of custom data: the only SQL they build.

Platform code never imports domains: the objects custom data attaches to (contacts, groups,
labels, users) are looked up here through the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Select, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra import tenancy
from relaydesk.infra.auth.principal import Principal
from relaydesk.models import (
    Contact,
    ContactGroup,
    CustomData,
    Label,
    Membership,
    MessageStatus,
    User,
    Webhook,
    WebhookAttempt,
    WebhookEvent,
    WebhookMessage,
    WebhookState,
    Workspace,
)

# -- webhooks --------------------------------------------------------------------------------


def active_webhooks(workspace_id: int) -> Select[Webhook]:
    """The workspace's webhooks that are not deleted (unordered: the pager orders)."""
    return select(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.is_active.is_(True))


def deliverable() -> tuple[ColumnElement[bool], ...]:
    """Webhooks that get messages queued and sent: not deleted, not disabled (throttled ones
    do: their queue waits for the circuit to close)."""
    return (Webhook.is_active.is_(True), Webhook.state != WebhookState.DISABLED.value)


async def get_webhook(session: AsyncSession, workspace_id: int, uuid: str) -> Webhook | None:
    stmt = active_webhooks(workspace_id).where(Webhook.uuid == uuid)
    return (await session.execute(stmt)).scalar_one_or_none()


async def workspace_of_webhook(session: AsyncSession, uuid: str) -> Workspace | None:
    stmt = (
        select(Workspace)
        .join(Webhook, Webhook.workspace_id == Workspace.id)
        .where(Webhook.uuid == uuid, Webhook.is_active.is_(True))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def workspace_of_message(session: AsyncSession, message_uuid: str) -> Workspace | None:
    stmt = (
        select(Workspace)
        .join(WebhookMessage, WebhookMessage.workspace_id == Workspace.id)
        .where(WebhookMessage.uuid == message_uuid)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def add(session: AsyncSession, webhook: Webhook) -> None:
    session.add(webhook)


def window_since(now: datetime, window_start_on: datetime | None, seconds: float) -> datetime:
    """Where the circuit breaker's rolling window starts: ``seconds`` back, but never before
    the circuit last closed (``window_start_on``)."""
    since = now - timedelta(seconds=seconds)
    return max(since, window_start_on) if window_start_on is not None else since


async def window_counts(session: AsyncSession, webhook_id: int, since: datetime) -> tuple[int, int]:
    """(attempts, failed attempts) of one webhook since ``since``."""
    stmt = select(
        func.count(WebhookAttempt.id),
        func.coalesce(func.sum(case((WebhookAttempt.succeeded.is_(False), 1), else_=0)), 0),
    ).where(WebhookAttempt.webhook_id == webhook_id, WebhookAttempt.attempted_on >= since)
    total, failed = (await session.execute(stmt)).one()
    return int(total), int(failed)


# -- messages --------------------------------------------------------------------------------


def messages_of(
    webhook_id: int,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[WebhookMessage]:
    stmt = select(WebhookMessage).where(WebhookMessage.webhook_id == webhook_id)
    if status is not None:
        stmt = stmt.where(WebhookMessage.status == status)
    if since is not None:
        stmt = stmt.where(WebhookMessage.created_on >= since)
    if until is not None:
        stmt = stmt.where(WebhookMessage.created_on <= until)
    return stmt


async def get_message(
    session: AsyncSession, workspace_id: int, uuid: str
) -> tuple[WebhookMessage, Webhook] | None:
    """A message of one of the workspace's (not deleted) webhooks, with its webhook."""
    stmt = (
        select(WebhookMessage, Webhook)
        .join(Webhook, Webhook.id == WebhookMessage.webhook_id)
        .where(
            WebhookMessage.uuid == uuid,
            WebhookMessage.workspace_id == workspace_id,
            Webhook.workspace_id == workspace_id,
            Webhook.is_active.is_(True),
        )
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def event_uuids(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, str]:
    if not event_ids:
        return {}
    stmt = select(WebhookEvent.id, WebhookEvent.uuid).where(WebhookEvent.id.in_(set(event_ids)))
    return {pk: uuid for pk, uuid in (await session.execute(stmt)).all()}


async def event_body(session: AsyncSession, event_id: int) -> str | None:
    stmt = select(WebhookEvent.body).where(WebhookEvent.id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def attempts_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[WebhookAttempt]]:
    """The attempts of many messages in one query, each list oldest first."""
    found: dict[int, list[WebhookAttempt]] = {pk: [] for pk in message_ids}
    if not message_ids:
        return found
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.message_id.in_(set(message_ids)))
        .order_by(WebhookAttempt.attempted_on, WebhookAttempt.id)
    )
    for attempt in (await session.execute(stmt)).scalars():
        found[attempt.message_id].append(attempt)
    return found


def _requeue_values(now: datetime) -> dict[str, Any]:
    return {
        "status": MessageStatus.PENDING.value,
        "attempt_count": 0,
        "next_attempt_on": now,
        "lease_until": None,
        "leased_by": None,
        "delivered_on": None,
    }


async def requeue_failed(
    session: AsyncSession, webhook_id: int, since: datetime, until: datetime, now: datetime
) -> int:
    """Every failed message of the webhook created in [since, until] back to pending."""
    stmt = (
        update(WebhookMessage)
        .where(
            WebhookMessage.webhook_id == webhook_id,
            WebhookMessage.status == MessageStatus.FAILED.value,
            WebhookMessage.created_on >= since,
            WebhookMessage.created_on <= until,
        )
        .values(**_requeue_values(now))
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def requeue(message: WebhookMessage, now: datetime) -> None:
    """One message back to pending, due now. A pending message that a worker holds (live
    lease) keeps its lease: the worker's attempt is in flight."""
    in_flight = (
        message.status == MessageStatus.PENDING.value
        and message.lease_until is not None
        and message.lease_until > now
    )
    for key, value in _requeue_values(now).items():
        if in_flight and key in ("lease_until", "leased_by"):
            continue
        setattr(message, key, value)


async def fail_pending(session: AsyncSession, webhook_id: int) -> int:
    """A deleted webhook's pending messages: failed (kept, then purged with the others)."""
    stmt = (
        update(WebhookMessage)
        .where(
            WebhookMessage.webhook_id == webhook_id,
            WebhookMessage.status == MessageStatus.PENDING.value,
        )
        .values(status=MessageStatus.FAILED.value)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def resume_pending(session: AsyncSession, webhook_id: int, now: datetime) -> int:
    """A re-enabled webhook's queued messages: due now."""
    stmt = (
        update(WebhookMessage)
        .where(
            WebhookMessage.webhook_id == webhook_id,
            WebhookMessage.status == MessageStatus.PENDING.value,
            WebhookMessage.next_attempt_on > now,
        )
        .values(next_attempt_on=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


# -- custom data -----------------------------------------------------------------------------


async def object_exists(
    session: AsyncSession, principal: Principal, object_type: str, uuid: str
) -> bool:
    """Whether the principal sees the (not deleted) object: contacts, groups and labels by
    the tenancy rule (a personal key, its own rows), users by membership, webhooks."""
    stmt: Select[Any]
    if object_type == "contact":
        stmt = tenancy.scoped(select(Contact.id), Contact, principal).where(
            Contact.uuid == uuid, Contact.is_active.is_(True)
        )
    elif object_type == "group":
        stmt = tenancy.scoped(select(ContactGroup.id), ContactGroup, principal).where(
            ContactGroup.uuid == uuid, ContactGroup.is_active.is_(True)
        )
    elif object_type == "label":
        stmt = tenancy.scoped(select(Label.id), Label, principal).where(
            Label.uuid == uuid, Label.is_active.is_(True)
        )
    elif object_type == "user":
        stmt = (
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.workspace_id == principal.workspace_id,
                User.uuid == uuid,
                User.deleted_on.is_(None),
            )
        )
    elif object_type == "webhook":
        stmt = select(Webhook.id).where(
            Webhook.workspace_id == principal.workspace_id,
            Webhook.uuid == uuid,
            Webhook.is_active.is_(True),
        )
    else:
        raise ValueError(object_type)
    return (await session.execute(stmt.limit(1))).first() is not None


async def get_custom_data(
    session: AsyncSession, workspace_id: int, object_type: str, uuid: str
) -> CustomData | None:
    stmt = select(CustomData).where(
        CustomData.workspace_id == workspace_id,
        CustomData.object_type == object_type,
        CustomData.object_uuid == uuid,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_custom_data(
    session: AsyncSession,
    workspace_id: int,
    object_type: str,
    uuid: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Insert or replace, atomically (two concurrent PUTs: the last one wins, no 500)."""
    values = {
        "workspace_id": workspace_id,
        "object_type": object_type,
        "object_uuid": uuid,
        "data": data,
        "modified_on": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CustomData).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "object_type", "object_uuid"],
        set_={"data": stmt.excluded.data, "modified_on": stmt.excluded.modified_on},
    )
    await session.execute(stmt)


async def delete_custom_data(
    session: AsyncSession, workspace_id: int, object_type: str, uuid: str
) -> int:
    stmt = delete(CustomData).where(
        CustomData.workspace_id == workspace_id,
        CustomData.object_type == object_type,
        CustomData.object_uuid == uuid,
    )
    result = await session.execute(stmt)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
