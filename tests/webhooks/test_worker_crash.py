"""``kill -9`` of a worker process mid-batch loses nothing (PostgreSQL, real subprocesses):
its leased messages are claimed again once the lease expires; two workers running together
never claim the same message (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from relaydesk.config import Settings
from relaydesk.db.engine import create_engine, create_sessionmaker
from relaydesk.models import MessageStatus, Webhook, WebhookMessage, Workspace
from relaydesk.platform.webhooks import events, signing
from tests.services import need
from tests.test_e2e_serve import cli, fresh_database, provision
from tests.webhooks.sink import running_sink

MESSAGES = 300
WORKER_ENV = {
    "RELAYDESK_WEBHOOK_ALLOW_PRIVATE": "1",
    "RELAYDESK_WEBHOOK_LEASE_SECONDS": "2",
    "RELAYDESK_WEBHOOK_POLL_SECONDS": "0.05",
    "RELAYDESK_WEBHOOK_RETRY_SCHEDULE": "0.1,0.1,0.1",
    "RELAYDESK_WEBHOOK_ENDPOINT_CONCURRENCY": "8",
    "RELAYDESK_LOG_LEVEL": "warning",
}


async def start_worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    handle = log.open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relaydesk",
        "worker",
        env={**os.environ, **env, **WORKER_ENV},
        stdout=handle,
        stderr=handle,
    )


def test_kill_9_of_a_worker_mid_batch_loses_nothing(tmp_path: Path) -> None:
    need("PostgreSQL", "127.0.0.1", 5432)
    with fresh_database("postgresql", tmp_path) as env:
        cli(env, "migrate")
        workspace_uuid, _ = provision(env, "Crash")
        asyncio.run(crash_and_recover(env, workspace_uuid, tmp_path))


async def crash_and_recover(env: dict[str, str], workspace_uuid: str, tmp_path: Path) -> None:
    if True:
        engine = create_engine(Settings(database_url=env["RELAYDESK_DATABASE_URL"]))
        sessions = create_sessionmaker(engine)
        try:
            async with running_sink() as sink:
                sink.delay = 0.2  # slow enough that a batch is in flight when we kill
                async with sessions() as session:
                    workspace_id = await session.scalar(
                        select(Workspace.id).where(Workspace.uuid == workspace_uuid)
                    )
                    assert workspace_id is not None
                    session.add(
                        Webhook(
                            uuid=str(uuid.uuid4()),
                            workspace_id=workspace_id,
                            url=sink.url,
                            events=["contact.*"],
                            secret=signing.new_secret(),
                        )
                    )
                    await session.flush()
                    items = [{"uuid": str(uuid.uuid4())} for _ in range(MESSAGES)]
                    emitted = await events.emit(session, workspace_id, "contact.created", items)
                    await session.commit()
                expected = set(emitted.message_ids)
                log = tmp_path / "workers.log"

                first = await start_worker(env, log)
                await sink.wait_for(30, timeout=30)
                first.send_signal(signal.SIGKILL)
                await first.wait()
                async with sessions() as session:
                    orphaned = await session.scalar(
                        select(func.count()).where(
                            WebhookMessage.status == MessageStatus.PENDING.value,
                            WebhookMessage.lease_until.is_not(None),
                        )
                    )
                assert orphaned, "the kill should leave leased, unrecorded messages behind"

                others = [await start_worker(env, log), await start_worker(env, log)]
                try:

                    async def all_delivered() -> bool:
                        async with sessions() as session:
                            left = await session.scalar(
                                select(func.count()).where(
                                    WebhookMessage.status != MessageStatus.DELIVERED.value
                                )
                            )
                        return left == 0

                    async with asyncio.timeout(60):
                        while not await all_delivered():
                            await asyncio.sleep(0.2)
                finally:
                    for worker in others:
                        worker.send_signal(signal.SIGTERM)
                    for worker in others:
                        await asyncio.wait_for(worker.wait(), 20)
                        assert worker.returncode == 0, log.read_text()[-2000:]

                received = Counter(r.message_id for r in sink.received)
                assert set(received) == expected  # every message arrived; nothing else did
                duplicates = sum(n - 1 for n in received.values())
                # at least once: only what the killed worker had claimed may come twice
                assert duplicates <= orphaned
        finally:
            await engine.dispose()
