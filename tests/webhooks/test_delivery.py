"""Delivery: signatures, retries at the scheduled times, Retry-After, dead letters and resend,
the circuit breaker, fairness between workspaces. Every sink is on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook as Verifier

from relaydesk.app import RelaydeskApp
from relaydesk.config import Settings
from relaydesk.kit.time import utcnow
from relaydesk.models import MessageStatus, Webhook, WebhookAttempt, WebhookMessage, WebhookState
from relaydesk.platform.webhooks import events, signing
from relaydesk.platform.webhooks.dispatcher import Dispatcher, envelope_body
from tests.conftest import World
from tests.webhooks.sink import Sink, running_sink

FAST = {
    "webhook_retry_schedule": "0.2,0.4,0.8",
    "webhook_poll_seconds": 0.02,
    "webhook_timeout_seconds": 2,
}


async def make_webhook(
    session: AsyncSession,
    workspace_id: int,
    url: str,
    events_filter: list[str] | None = None,
    **values: Any,
) -> Webhook:
    hook = Webhook(
        uuid=str(uuid.uuid4()),
        workspace_id=workspace_id,
        url=url,
        events=events_filter or ["contact.*"],
        secret=signing.new_secret(),
        **values,
    )
    session.add(hook)
    await session.commit()
    return hook


async def emit(session: AsyncSession, workspace_id: int, count: int = 1) -> list[str]:
    items = [{"uuid": str(uuid.uuid4()), "name": f"C{i}"} for i in range(count)]
    emitted = await events.emit(session, workspace_id, "contact.created", items)
    await session.commit()
    return emitted.message_ids


@contextlib.asynccontextmanager
async def dispatcher(app: RelaydeskApp, **overrides: Any) -> AsyncIterator[Dispatcher]:
    settings: Settings = app.state.settings.model_copy(update={**FAST, **overrides})
    worker = Dispatcher(settings, app.state.sessionmaker)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def message(session: AsyncSession, message_id: str) -> WebhookMessage:
    session.expire_all()
    found = await session.scalar(select(WebhookMessage).where(WebhookMessage.uuid == message_id))
    assert found is not None
    return found


async def until(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(step)


async def status_of(session: AsyncSession, message_id: str) -> str:
    return (await message(session, message_id)).status


async def test_signed_envelope_verifies_with_standardwebhooks(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        hook = await make_webhook(session, world.a.id, sink.url, custom_data={"team": "ops"})
        [msg] = await emit(session, world.a.id)
        async with dispatcher(app):
            await sink.wait_for(1)
        got = sink.received[0]
        payload = Verifier(hook.secret).verify(got.body, got.headers)
        assert got.message_id == msg
        assert payload["type"] == "contact.created"
        assert payload["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}
        assert payload["data"]["name"] == "C0"
        assert payload["data"]["custom_data"] == {}
        assert payload["custom_data"] == {"team": "ops"}  # the webhook's own
        assert payload["id"].startswith("evt_")
        with pytest.raises(Exception):  # noqa: B017,PT011 - any verification error
            Verifier(signing.new_secret()).verify(got.body, got.headers)
        await until(lambda: _is(session, msg, MessageStatus.DELIVERED))


async def _is(session: AsyncSession, message_id: str, status: str) -> bool:
    return await status_of(session, message_id) == status


async def test_both_secrets_sign_during_rotation(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        old = signing.new_secret()
        hook = await make_webhook(
            session,
            world.a.id,
            sink.url,
            previous_secret=old,
            previous_secret_expires_on=utcnow() + timedelta(hours=24),
        )
        await emit(session, world.a.id)
        async with dispatcher(app):
            await sink.wait_for(1)
        got = sink.received[0]
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        Verifier(hook.secret).verify(got.body, got.headers)
        Verifier(old).verify(got.body, got.headers)


async def test_expired_previous_secret_no_longer_signs(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        await make_webhook(
            session,
            world.a.id,
            sink.url,
            previous_secret=signing.new_secret(),
            previous_secret_expires_on=utcnow() - timedelta(seconds=1),
        )
        await emit(session, world.a.id)
        async with dispatcher(app):
            await sink.wait_for(1)
        assert len(sink.received[0].headers["webhook-signature"].split(" ")) == 1


@pytest.mark.parametrize("sender", ["inline", "process"])
async def test_500_500_200_is_delivered_on_the_third_attempt_at_the_scheduled_times(
    app: RelaydeskApp, session: AsyncSession, world: World, sender: str
) -> None:
    async with running_sink() as sink:
        sink.respond = lambda got, before: web.Response(status=500) if before < 2 else None
        await make_webhook(session, world.a.id, sink.url)
        [msg] = await emit(session, world.a.id)
        async with dispatcher(app, webhook_sender=sender):
            await sink.wait_for(3)
            await until(lambda: _is(session, msg, MessageStatus.DELIVERED))
        times = [r.at for r in sink.for_message(msg)]
        assert len(times) == 3
        # schedule 0.2 s then 0.4 s, ±10 % jitter (and a little polling slack)
        assert 0.18 <= times[1] - times[0] <= 0.2 * 1.1 + 0.25
        assert 0.36 <= times[2] - times[1] <= 0.4 * 1.1 + 0.25
        row = await message(session, msg)
        assert row.attempt_count == 3
        attempts = (
            await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.message_id == row.id)
                .order_by(WebhookAttempt.id)
            )
        ).all()
        assert [a.status_code for a in attempts] == [500, 500, 200]
        assert [a.succeeded for a in attempts] == [False, False, True]


async def test_retry_after_is_honoured(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        sink.respond = lambda got, before: (
            web.Response(status=429, headers={"Retry-After": "2"}) if before == 0 else None
        )
        await make_webhook(session, world.a.id, sink.url)
        [msg] = await emit(session, world.a.id)
        async with dispatcher(app, webhook_retry_schedule="0.05,0.05,0.05"):
            await sink.wait_for(2, timeout=10)
        first, second = sink.for_message(msg)
        assert second.at - first.at >= 2.0


async def test_404_fails_at_once(app: RelaydeskApp, session: AsyncSession, world: World) -> None:
    async with running_sink() as sink:
        sink.respond = lambda got, before: web.Response(status=404, text="no such hook")
        await make_webhook(session, world.a.id, sink.url)
        [msg] = await emit(session, world.a.id)
        async with dispatcher(app):
            await until(lambda: _is(session, msg, MessageStatus.FAILED))
            await asyncio.sleep(0.5)  # no retry comes
        assert len(sink.for_message(msg)) == 1
        row = await message(session, msg)
        attempt = await session.scalar(
            select(WebhookAttempt).where(WebhookAttempt.message_id == row.id)
        )
        assert attempt is not None
        assert attempt.status_code == 404
        assert attempt.response == "no such hook"


async def test_dead_receiver_fails_after_all_retries_then_resend_delivers(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as probe:
        dead_url = probe.url  # a port nobody listens on once the probe sink is gone
    await make_webhook(session, world.a.id, dead_url)
    [msg] = await emit(session, world.a.id)
    async with dispatcher(app, webhook_retry_schedule="0.05,0.05,0.05"):
        await until(lambda: _is(session, msg, MessageStatus.FAILED))
    row = await message(session, msg)
    assert row.attempt_count == 4  # the first attempt and three retries
    # back to pending, same id (what POST /api/v3/messages/{id}/resend does)
    await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.uuid == msg)
        .values(status=MessageStatus.PENDING.value, attempt_count=0, next_attempt_on=utcnow())
    )
    await session.commit()
    port = int(dead_url.rsplit(":", 1)[1].split("/")[0])
    async with running_sink(port) as sink:
        async with dispatcher(app):
            await sink.wait_for(1)
            await until(lambda: _is(session, msg, MessageStatus.DELIVERED))
        assert [r.message_id for r in sink.received] == [msg]


async def test_circuit_opens_above_half_failures_and_closes_after_recovery(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    healthy = False
    async with running_sink() as sink:
        sink.respond = lambda got, before: None if healthy else web.Response(status=503)
        hook_id = (await make_webhook(session, world.a.id, sink.url)).id
        await emit(session, world.a.id, 30)
        overrides = {
            "webhook_failure_min_attempts": 10,
            "webhook_probe_interval_seconds": 0.3,
            "webhook_retry_schedule": "0.05,0.05,0.05",
            "webhook_endpoint_concurrency": 2,
        }
        async with dispatcher(app, **overrides):

            async def state() -> str:
                found = await session.scalar(select(Webhook.state).where(Webhook.id == hook_id))
                assert found is not None
                return found

            async def throttled() -> bool:
                return await state() == WebhookState.THROTTLED.value

            await until(throttled)
            # throttled: queued messages wait and are not attempted; only probes go out
            attempts_then = len(sink.received)
            await asyncio.sleep(1.0)
            probes = len(sink.received) - attempts_then
            # ~one probe per 0.3 s (+ the two that were in flight when it opened); unthrottled
            # it would be ~40 attempts a second (2 at a time, 0.05 s between retries)
            assert 1 <= probes <= 6
            pending = await session.scalar(
                select(func.count()).where(
                    WebhookMessage.webhook_id == hook_id,
                    WebhookMessage.status == MessageStatus.PENDING.value,
                )
            )
            assert pending is not None
            assert pending > 20
            healthy = True  # the receiver recovers: the next probe closes the circuit

            async def closed() -> bool:
                return await state() == WebhookState.HEALTHY.value

            await until(closed, timeout=5)

            async def all_delivered() -> bool:
                session.expire_all()
                left = await session.scalar(
                    select(func.count()).where(
                        WebhookMessage.webhook_id == hook_id,
                        WebhookMessage.status != MessageStatus.DELIVERED.value,
                    )
                )
                return left == 0

            await until(all_delivered, timeout=10)


@pytest.mark.parametrize("sender", ["inline", "process"])
async def test_one_workspace_backlog_does_not_delay_another(
    app: RelaydeskApp, session: AsyncSession, world: World, sender: str
) -> None:
    async with running_sink() as slow, running_sink() as quick:
        slow.delay = 0.5
        await make_webhook(session, world.a.id, slow.url)
        await make_webhook(session, world.b.id, quick.url)
        await emit(session, world.a.id, 5000)
        async with dispatcher(app, webhook_endpoint_concurrency=8, webhook_sender=sender):
            await slow.wait_for(8)  # A's backlog is being worked on
            started = time.monotonic()
            [msg] = await emit(session, world.b.id)
            await quick.wait_for(1, timeout=2)
            assert time.monotonic() - started < 2
            assert quick.received[0].message_id == msg


def test_envelope_body_adds_the_webhook_custom_data() -> None:
    body = envelope_body('{"id":"evt_1","data":{}}', {"a": 1})
    assert body == b'{"id":"evt_1","data":{},"custom_data":{"a":1}}'
    assert envelope_body('{"id":"evt_1"}', {}) == b'{"id":"evt_1","custom_data":{}}'


async def test_rolled_back_emit_queues_nothing(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        await make_webhook(session, world.a.id, sink.url)
        await events.emit(session, world.a.id, "contact.created", [{"uuid": str(uuid.uuid4())}])
        await session.rollback()
        async with dispatcher(app):
            await asyncio.sleep(0.3)
        assert sink.received == []
        assert await session.scalar(select(func.count()).select_from(WebhookMessage)) == 0


_ = Sink  # re-exported for type checkers of helpers


async def test_stopping_records_every_attempt_already_made(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    """A stop right after deliveries: their outcomes are committed before run() returns
    (not left to a lease expiry and a second send)."""
    async with running_sink() as sink:
        await make_webhook(session, world.a.id, sink.url)
        ids = await emit(session, world.a.id, 20)
        async with dispatcher(app):
            await sink.wait_for(20)
        session.expire_all()
        statuses = (
            await session.scalars(select(WebhookMessage.status).where(WebhookMessage.uuid.in_(ids)))
        ).all()
        assert statuses == [MessageStatus.DELIVERED.value] * 20
