"""The transactional outbox: ``emit`` writes the event and one message per subscribed webhook
in the caller's transaction (it never commits). Rolled back, nothing is sent; committed, the
worker delivers it (at least once).

Domains call it after a change, with the object in its API shape::

    await events.emit(session, principal.workspace_id, "contact.created", [wire])

or with a callable when rendering costs something, so nothing is rendered when no webhook
listens::

    await events.emit(session, workspace_id, "contact.updated", lambda: render(contacts))
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    CustomData,
    MessageStatus,
    Webhook,
    WebhookEvent,
    WebhookMessage,
    Workspace,
)
from relaydesk.platform.webhooks import registry, repository

Items = Sequence[dict[str, Any]]
ItemsFactory = Callable[[], Awaitable[Items]]


class UnknownEventType(ValueError):
    pass


# In-process wake-up: a worker in this process registers a callback, called after any commit
# that queued messages, so it claims them at once instead of at its next poll.
_wakers: list[Callable[[], None]] = []
_PENDING = "relaydesk.webhooks.pending"


def add_waker(callback: Callable[[], None]) -> None:
    _wakers.append(callback)


def remove_waker(callback: Callable[[], None]) -> None:
    if callback in _wakers:
        _wakers.remove(callback)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        for wake in list(_wakers):
            wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def wake_after_commit(session: AsyncSession) -> None:
    """Messages were (re)queued in this transaction: wake this process's worker at commit."""
    session.sync_session.info[_PENDING] = True


def new_event_id() -> str:
    return "evt_" + uuidlib.uuid4().hex


def new_message_id() -> str:
    return "msg_" + uuidlib.uuid4().hex


@dataclass(frozen=True, slots=True)
class Emitted:
    event_ids: list[str]
    message_ids: list[str]


async def subscribers(session: AsyncSession, workspace_id: int, event_type: str) -> list[int]:
    """Ids of the workspace's webhooks that take this event type now (disabled ones don't:
    nothing is queued for them until they are re-enabled)."""
    rows = await session.execute(
        select(Webhook.id, Webhook.events).where(
            Webhook.workspace_id == workspace_id, *repository.deliverable()
        )
    )
    return [wid for wid, patterns in rows.all() if registry.matches(patterns or [], event_type)]


async def attach_custom_data(
    session: AsyncSession, workspace_id: int, event_type: str, items: Items
) -> None:
    """Set ``custom_data`` on each item (and its nested objects) from the ``custom_data``
    table: ``{}`` when the user attached nothing. One query per object type."""
    kind = registry.get(event_type)
    if kind is None:
        return
    targets: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if kind.object_type and isinstance(item.get("uuid"), str):
            targets.append((kind.object_type, item))
        for key, object_type in kind.nested:
            nested = item.get(key)
            if isinstance(nested, dict) and isinstance(nested.get("uuid"), str):
                targets.append((object_type, nested))
    by_type: dict[str, set[str]] = {}
    for object_type, obj in targets:
        by_type.setdefault(object_type, set()).add(obj["uuid"])
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for object_type, uuids in by_type.items():
        rows = await session.execute(
            select(CustomData.object_uuid, CustomData.data).where(
                CustomData.workspace_id == workspace_id,
                CustomData.object_type == object_type,
                CustomData.object_uuid.in_(uuids),
            )
        )
        for object_uuid, data in rows.all():
            found[(object_type, object_uuid)] = data or {}
    for object_type, obj in targets:
        obj["custom_data"] = found.get((object_type, obj["uuid"]), {})


async def emit(
    session: AsyncSession,
    workspace_id: int,
    event_type: str,
    items: Items | ItemsFactory,
    *,
    only_webhook_id: int | None = None,
) -> Emitted:
    """Queue one event per item for every webhook subscribed to ``event_type`` (or only
    ``only_webhook_id``, whatever its filter: ``webhook.test``). Returns the ids written."""
    if registry.get(event_type) is None:
        raise UnknownEventType(event_type)
    if only_webhook_id is not None:
        webhook_ids = [only_webhook_id]
    else:
        webhook_ids = await subscribers(session, workspace_id, event_type)
    if not webhook_ids:
        return Emitted([], [])
    # copies: custom_data is attached to what is queued, never to the caller's dicts
    data = [dict(item) for item in (await items() if callable(items) else items)]
    if not data:
        return Emitted([], [])
    await attach_custom_data(session, workspace_id, event_type, data)
    ws_uuid, ws_name = (
        await session.execute(
            select(Workspace.uuid, Workspace.name).where(Workspace.id == workspace_id)
        )
    ).one()
    now = utcnow()
    stamp = format_datetime(now)
    event_rows = []
    for item in data:
        event_id = new_event_id()
        envelope = {
            "id": event_id,
            "type": event_type,
            "timestamp": stamp,
            "workspace": {"uuid": ws_uuid, "name": ws_name},
            "data": item,
        }
        event_rows.append(
            {
                "uuid": event_id,
                "workspace_id": workspace_id,
                "type": event_type,
                "body": orjson.dumps(envelope).decode(),
                "created_on": now,
            }
        )
    result = await session.execute(
        insert(WebhookEvent).returning(
            WebhookEvent.id, WebhookEvent.uuid, sort_by_parameter_order=True
        ),
        event_rows,
    )
    events = result.all()
    message_ids = [new_message_id() for _ in range(len(events) * len(webhook_ids))]
    message_rows = [
        {
            "uuid": message_ids[i * len(webhook_ids) + j],
            "workspace_id": workspace_id,
            "webhook_id": webhook_id,
            "event_id": event_pk,
            "event_type": event_type,
            "status": MessageStatus.PENDING.value,
            "attempt_count": 0,
            "next_attempt_on": now,
            "created_on": now,
        }
        for i, (event_pk, _) in enumerate(events)
        for j, webhook_id in enumerate(webhook_ids)
    ]
    await session.execute(insert(WebhookMessage), message_rows)
    session.sync_session.info[_PENDING] = True
    return Emitted([uuid for _, uuid in events], message_ids)
