"""``RELAYDESK_WEBHOOK_SENDER=process``: the POSTs are made by a child process of the worker.
The same guarantees as inline sending: signed, every attempt recorded, retries, fairness, and
nothing lost when the child dies or the worker stops. Every sink is on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook as Verifier

from relaydesk.app import RelaydeskApp
from relaydesk.config import Settings
from relaydesk.kit.time import utcnow
from relaydesk.models import MessageStatus, WebhookAttempt, WebhookMessage
from relaydesk.platform.webhooks.jobs import Job
from relaydesk.platform.webhooks.sender_process import (
    CHILD_EXITED,
    ProcessSender,
    make_sender,
)
from tests.conftest import World
from tests.webhooks.sink import running_sink
from tests.webhooks.test_delivery import dispatcher, emit, make_webhook, until

PROCESS = {"webhook_sender": "process"}


async def statuses(session: AsyncSession, ids: list[str]) -> list[str]:
    session.expire_all()
    rows = await session.scalars(select(WebhookMessage.status).where(WebhookMessage.uuid.in_(ids)))
    return list(rows.all())


def job(url: str, seq: int = 1) -> Job:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    return Job(
        seq, f"msg_{seq}", 1, 1, url, [secret], b'{"a":1}', 0, datetime.max.replace(tzinfo=UTC)
    )


def test_auto_is_a_process_for_the_standalone_worker_and_inline_in_serve() -> None:
    settings = Settings()
    assert type(make_sender(settings, standalone=False)).__name__ == "Sender"
    sender = make_sender(settings, standalone=True)
    assert isinstance(sender, ProcessSender)
    asyncio.run(sender.close())  # started at once; closing before use ends the child
    inline = make_sender(settings.model_copy(update={"webhook_sender": "inline"}), standalone=True)
    assert type(inline).__name__ == "Sender"


async def test_deliveries_from_the_child_are_signed_and_recorded(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        secret = (await make_webhook(session, world.a.id, sink.url)).secret
        ids = await emit(session, world.a.id, 50)
        async with dispatcher(app, **PROCESS) as worker:
            await sink.wait_for(50)
            assert isinstance(worker.sender, ProcessSender)
            assert worker.sender.children_started == 1
        assert await statuses(session, ids) == [MessageStatus.DELIVERED.value] * 50
        assert {r.message_id for r in sink.received} == set(ids)
        for got in sink.received:
            Verifier(secret).verify(got.body, got.headers)
        attempts = (await session.scalars(select(WebhookAttempt))).all()
        assert len(attempts) == 50
        assert all(a.succeeded and a.status_code == 200 for a in attempts)


async def test_a_killed_child_loses_nothing_and_is_replaced(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        sink.delay = 0.5  # a batch is in flight when the child dies
        await make_webhook(session, world.a.id, sink.url)
        ids = await emit(session, world.a.id, 30)
        async with dispatcher(app, **PROCESS, webhook_endpoint_concurrency=10) as worker:
            await sink.wait_for(10)
            sender = worker.sender
            assert isinstance(sender, ProcessSender)
            child = sender._child
            assert child is not None
            os.kill(child.popen.pid, signal.SIGKILL)
            sink.delay = 0.0
            await until(lambda: _all(session, ids, MessageStatus.DELIVERED.value), timeout=15)
            assert sender.children_started >= 2
        lost = (
            await session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.error == CHILD_EXITED)
            )
        ).all()
        assert lost  # the in-flight ones came back as retriable failed attempts
        assert all(not a.succeeded for a in lost)
        assert {r.message_id for r in sink.received} == set(ids)


async def _all(session: AsyncSession, ids: list[str], status: str) -> bool:
    return await statuses(session, ids) == [status] * len(ids)


async def test_stopping_waits_for_what_the_child_holds(
    app: RelaydeskApp, session: AsyncSession, world: World
) -> None:
    async with running_sink() as sink:
        sink.delay = 0.3
        await make_webhook(session, world.a.id, sink.url)
        ids = await emit(session, world.a.id, 8)
        async with dispatcher(app, **PROCESS):
            await sink.wait_for(8)  # all 8 in flight, answers 0.3 s away
        # run() returned: every POST the sink saw has its outcome committed
        assert await statuses(session, ids) == [MessageStatus.DELIVERED.value] * 8


async def test_the_child_applies_the_ssrf_guard() -> None:
    sender = ProcessSender(allow_private=False, timeout_seconds=2, concurrency=4)
    try:
        async with running_sink() as sink:
            outcome = await sender.send(job(sink.url))
        assert sink.received == []
        assert outcome.succeeded is False
        assert outcome.retriable is False
        assert outcome.error is not None
        assert outcome.error.startswith("blocked:")
        assert outcome.attempted_on <= utcnow()
    finally:
        await sender.close()


async def test_many_sends_in_one_turn_share_frames_and_all_answer() -> None:
    sender = ProcessSender(allow_private=True, timeout_seconds=5, concurrency=16)
    try:
        async with running_sink() as sink:
            outcomes = await asyncio.gather(*(sender.send(job(sink.url, n)) for n in range(200)))
        assert [o.job.message_pk for o in outcomes] == list(range(200))
        assert all(o.succeeded and o.status_code == 200 for o in outcomes)
        assert len(sink.received) == 200
        assert sender.children_started == 1
    finally:
        await sender.close()
