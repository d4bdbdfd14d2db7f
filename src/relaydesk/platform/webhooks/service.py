"""Webhooks management: endpoints, their health, their messages (list, resend, recover).

Rules:
* Any key of the workspace reads; writes need the ``admin`` scope (an administrator's key or
  a company key). Another workspace's webhook or message is a 404, never a 403.
* URLs pass the SSRF guard at creation and on every URL change (400 ``{"url": [...]}``).
* The secret is shown when created and when rotated, never in reads. After a rotation the
  previous secret keeps signing for ``RELAYDESK_WEBHOOK_SECRET_OVERLAP_SECONDS``.
* Disabling by hand stops sending (messages queue, none are dropped); re-enabling closes the
  circuit and makes the queued messages due at once.
* Deleting is soft (``is_active`` false); the webhook's pending messages become ``failed`` so
  no worker sends them, and they are purged with the other dead letters.
* Resend and recover put the *same* message (same ``msg_…`` id) back to pending.

Never commits: the routers and the CLI do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.config import Settings
from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import ADMIN, Principal
from relaydesk.infra.net import ssrf
from relaydesk.kit.ids import canonical_uuid, new_uuid
from relaydesk.kit.parse import parse_datetime
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import MessageStatus, Webhook, WebhookAttempt, WebhookMessage, WebhookState
from relaydesk.platform.webhooks import events, repository, signing
from relaydesk.platform.webhooks.schemas import (
    AttemptOut,
    Health,
    MessageDetail,
    MessageOut,
    QueuedTest,
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
    WebhookOut,
    WebhookUpdate,
)

TEST_MESSAGE = "This is a test event from Relaydesk."
DISABLED_BY_HAND = "Disabled by a user."
_MESSAGE_ID = re.compile(r"msg_[0-9a-f]{32}")


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str


def require_admin(principal: Principal) -> None:
    if not principal.has_scope(ADMIN):
        raise Forbidden(
            "You do not have permission to perform this action: it needs an administrator's "
            "key or a company key."
        )


def parse_time(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 query or body value; a 400 on ``field`` when it is not one."""
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise InvalidArgs(f"Enter a valid ISO 8601 date/time, not {value[:64]!r}.", field=field)
    return parsed


async def check_url(url: str, settings: Settings) -> None:
    try:
        await ssrf.check_url(url, allow_private=settings.webhook_allow_private)
    except ssrf.UnsafeURL as exc:
        raise InvalidArgs(exc.message, field="url") from None


# -- webhooks --------------------------------------------------------------------------------


async def get(session: AsyncSession, principal: Principal, uuid: str) -> Webhook:
    """The workspace's (not deleted) webhook, or 404."""
    canonical = canonical_uuid(uuid)
    webhook = (
        await repository.get_webhook(session, principal.workspace_id, canonical)
        if canonical
        else None
    )
    if webhook is None:
        raise NotFound("No webhook with this uuid.")
    return webhook


def list_stmt(principal: Principal) -> Select[Webhook]:
    """The workspace's webhooks (for the pager: it orders them newest first)."""
    return repository.active_webhooks(principal.workspace_id)


async def list_webhooks(session: AsyncSession, principal: Principal) -> list[Webhook]:
    """Every webhook of the workspace, newest first (the CLI; the API pages)."""
    stmt = list_stmt(principal).order_by(Webhook.created_on.desc(), Webhook.id.desc())
    return list((await session.execute(stmt)).scalars())


async def create(
    session: AsyncSession, principal: Principal, data: WebhookCreate, settings: Settings
) -> NewWebhook:
    require_admin(principal)
    await check_url(data.url, settings)
    now = utcnow()
    secret = signing.new_secret()
    webhook = Webhook(
        uuid=new_uuid(),
        workspace_id=principal.workspace_id,
        created_by_id=principal.user_id or None,  # the operator (CLI) has no user
        url=data.url,
        description=data.description,
        events=data.events,
        custom_data=data.custom_data,
        secret=secret,
        state=WebhookState.HEALTHY.value,
        state_changed_on=now,
        window_start_on=now,
        is_active=True,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, webhook)
    await session.flush()
    return NewWebhook(webhook, secret)


async def _reenable(session: AsyncSession, webhook: Webhook, now: datetime) -> None:
    """Close the circuit and make the queued messages due now."""
    webhook.state = WebhookState.HEALTHY.value
    webhook.state_changed_on = now
    webhook.failing_since = None
    webhook.next_probe_on = None
    webhook.disabled_reason = None
    webhook.window_start_on = now
    if await repository.resume_pending(session, webhook.id, now):
        events.wake_after_commit(session)


async def update(
    session: AsyncSession,
    principal: Principal,
    uuid: str,
    data: WebhookUpdate,
    settings: Settings,
) -> Webhook:
    """Change the fields given. ``disabled: true`` disables by hand; ``disabled: false``
    re-enables a disabled (or throttled) webhook: healthy, queue resumed."""
    require_admin(principal)
    webhook = await get(session, principal, uuid)
    now = utcnow()
    if data.url is not None and data.url != webhook.url:
        await check_url(data.url, settings)
        webhook.url = data.url
    if data.events is not None:
        webhook.events = data.events
    if data.description is not None:
        webhook.description = data.description
    if data.custom_data is not None:
        webhook.custom_data = data.custom_data
    if data.disabled is True and webhook.state != WebhookState.DISABLED:
        webhook.state = WebhookState.DISABLED.value
        webhook.state_changed_on = now
        webhook.disabled_reason = DISABLED_BY_HAND
        webhook.next_probe_on = None
    elif data.disabled is False and webhook.state != WebhookState.HEALTHY:
        await _reenable(session, webhook, now)
    webhook.modified_on = now
    await session.flush()
    return webhook


async def delete(session: AsyncSession, principal: Principal, uuid: str) -> Webhook:
    """Soft delete. Its pending messages become failed: never sent (nor resent: a deleted
    webhook's messages are 404s)."""
    require_admin(principal)
    webhook = await get(session, principal, uuid)
    webhook.is_active = False
    webhook.modified_on = utcnow()
    await repository.fail_pending(session, webhook.id)
    await repository.delete_custom_data(session, principal.workspace_id, "webhook", webhook.uuid)
    await session.flush()
    return webhook


async def rotate_secret(
    session: AsyncSession, principal: Principal, uuid: str, settings: Settings
) -> NewWebhook:
    """A new secret; the current one keeps signing (as well) during the overlap."""
    require_admin(principal)
    webhook = await get(session, principal, uuid)
    now = utcnow()
    secret = signing.new_secret()
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_on = now + timedelta(
        seconds=settings.webhook_secret_overlap_seconds
    )
    webhook.secret = secret
    webhook.modified_on = now
    await session.flush()
    return NewWebhook(webhook, secret)


async def send_test(session: AsyncSession, principal: Principal, uuid: str) -> QueuedTest:
    """Queue a ``webhook.test`` event to this webhook only, whatever its event filter."""
    require_admin(principal)
    webhook = await get(session, principal, uuid)
    item = {"webhook": {"uuid": webhook.uuid}, "message": TEST_MESSAGE}
    emitted = await events.emit(
        session, principal.workspace_id, "webhook.test", [item], only_webhook_id=webhook.id
    )
    return QueuedTest(id=emitted.message_ids[0], event_id=emitted.event_ids[0])


async def health(session: AsyncSession, webhook: Webhook, settings: Settings) -> Health:
    """The circuit breaker's view: failure rate over the rolling window, which starts at
    most ``webhook_failure_window_seconds`` back and never before the circuit last closed."""
    since = repository.window_since(
        utcnow(), webhook.window_start_on, settings.webhook_failure_window_seconds
    )
    total, failed = await repository.window_counts(session, webhook.id, since)
    state = WebhookState(webhook.state)
    return Health(
        state=state.value,
        failure_rate=round(failed / total, 4) if total else 0.0,
        attempts_in_window=total,
        next_probe_on=format_datetime(webhook.next_probe_on)
        if state is WebhookState.THROTTLED
        else None,
        disabled_reason=webhook.disabled_reason if state is WebhookState.DISABLED else None,
    )


def to_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        uuid=webhook.uuid,
        url=webhook.url,
        events=list(webhook.events or []),
        description=webhook.description or "",
        custom_data=dict(webhook.custom_data or {}),
        state=WebhookState(webhook.state).value,
        disabled_reason=webhook.disabled_reason if webhook.state == WebhookState.DISABLED else None,
        previous_secret_expires_on=format_datetime(webhook.previous_secret_expires_on)
        if webhook.previous_secret
        else None,
        created_on=format_datetime(webhook.created_on) or "",
        modified_on=format_datetime(webhook.modified_on) or "",
    )


async def to_detail(session: AsyncSession, webhook: Webhook, settings: Settings) -> WebhookDetail:
    return WebhookDetail(
        **to_out(webhook).model_dump(), health=await health(session, webhook, settings)
    )


def to_created(new: NewWebhook) -> WebhookCreated:
    return WebhookCreated(**to_out(new.webhook).model_dump(), secret=new.secret)


# -- messages --------------------------------------------------------------------------------


async def messages_stmt(
    session: AsyncSession,
    principal: Principal,
    uuid: str,
    *,
    status: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> tuple[Webhook, Select[WebhookMessage]]:
    """The webhook and its messages filtered by status and creation time (the pager orders
    them newest first). Invalid times: 400 on ``since`` / ``until``."""
    if status is not None and status not in {s.value for s in MessageStatus}:
        raise InvalidArgs("Select one of: pending, delivered, failed.", field="status")
    start = parse_time(since, "since")
    end = parse_time(until, "until")
    webhook = await get(session, principal, uuid)
    return webhook, repository.messages_of(webhook.id, status=status, since=start, until=end)


async def recent_messages(
    session: AsyncSession,
    principal: Principal,
    uuid: str,
    *,
    status: str | None = None,
    limit: int = 50,
) -> list[MessageOut]:
    """The newest ``limit`` messages of a webhook (the CLI; the API pages)."""
    webhook, stmt = await messages_stmt(session, principal, uuid, status=status)
    stmt = stmt.order_by(WebhookMessage.created_on.desc(), WebhookMessage.id.desc()).limit(limit)
    rows = list((await session.execute(stmt)).scalars())
    return await render_messages(session, rows, {webhook.id: webhook.uuid})


def _attempt_out(attempt: WebhookAttempt) -> AttemptOut:
    return AttemptOut(
        attempted_on=format_datetime(attempt.attempted_on) or "",
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        response=attempt.response,
    )


async def render_messages(
    session: AsyncSession, messages: Sequence[WebhookMessage], webhook_uuids: dict[int, str]
) -> list[MessageOut]:
    """Wire shapes of a page of messages: their events' ids and their attempts are loaded
    in one query each (no N+1)."""
    event_ids = await repository.event_uuids(session, [m.event_id for m in messages])
    attempts = await repository.attempts_of(session, [m.id for m in messages])
    return [
        MessageOut(
            id=m.uuid,
            event_id=event_ids.get(m.event_id, ""),
            event_type=m.event_type,
            webhook=webhook_uuids.get(m.webhook_id, ""),
            status=MessageStatus(m.status).value,
            created_on=format_datetime(m.created_on) or "",
            next_attempt_on=format_datetime(m.next_attempt_on)
            if m.status == MessageStatus.PENDING
            else None,
            delivered_on=format_datetime(m.delivered_on),
            attempts=[_attempt_out(a) for a in attempts.get(m.id, [])],
        )
        for m in messages
    ]


async def _get_message(
    session: AsyncSession, principal: Principal, message_id: str
) -> tuple[WebhookMessage, Webhook]:
    found = None
    if _MESSAGE_ID.fullmatch(message_id):
        found = await repository.get_message(session, principal.workspace_id, message_id)
    if found is None:
        raise NotFound("No message with this id.")
    return found


def payload_of(body: str | None, webhook: Webhook) -> dict[str, Any]:
    """The envelope as sent: the stored event body plus the webhook's ``custom_data``."""
    payload: dict[str, Any] = orjson.loads(body) if body else {}
    payload["custom_data"] = dict(webhook.custom_data or {})
    return payload


async def get_message(
    session: AsyncSession, principal: Principal, message_id: str
) -> MessageDetail:
    message, webhook = await _get_message(session, principal, message_id)
    [out] = await render_messages(session, [message], {webhook.id: webhook.uuid})
    body = await repository.event_body(session, message.event_id)
    return MessageDetail(**out.model_dump(), payload=payload_of(body, webhook))


async def resend(session: AsyncSession, principal: Principal, message_id: str) -> MessageOut:
    """The same message (same id) back to pending, due now, with a fresh attempt budget."""
    require_admin(principal)
    message, webhook = await _get_message(session, principal, message_id)
    repository.requeue(message, utcnow())
    await session.flush()
    events.wake_after_commit(session)
    [out] = await render_messages(session, [message], {webhook.id: webhook.uuid})
    return out


async def recover(
    session: AsyncSession,
    principal: Principal,
    uuid: str,
    since: str,
    until: str | None = None,
) -> int:
    """Every failed message of the webhook created in [since, until] (default: now) back to
    pending, each keeping its id. Returns how many."""
    require_admin(principal)
    start = parse_time(since, "since")
    assert start is not None
    now = utcnow()
    end = parse_time(until, "until") or now
    if end < start:
        raise InvalidArgs("Must not be before since.", field="until")
    webhook = await get(session, principal, uuid)
    count = await repository.requeue_failed(session, webhook.id, start, end, now)
    if count:
        events.wake_after_commit(session)
    return count


# -- the operator (CLI) ----------------------------------------------------------------------


async def operator_for_webhook(session: AsyncSession, uuid: str) -> Principal:
    """The operator acting in the workspace of this webhook (404 if there is none)."""
    canonical = canonical_uuid(uuid)
    workspace = await repository.workspace_of_webhook(session, canonical) if canonical else None
    if workspace is None:
        raise NotFound("No webhook with this uuid.")
    return Principal.operator(workspace.id, workspace.uuid, workspace.plan)


async def operator_for_message(session: AsyncSession, message_id: str) -> Principal:
    workspace = None
    if _MESSAGE_ID.fullmatch(message_id):
        workspace = await repository.workspace_of_message(session, message_id)
    if workspace is None:
        raise NotFound("No message with this id.")
    return Principal.operator(workspace.id, workspace.uuid, workspace.plan)
