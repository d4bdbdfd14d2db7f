"""The delivery worker: claims due messages, sends them fairly, records every attempt.

One loop per process (embedded in ``relaydesk serve``, or ``relaydesk worker``):

* **Claim** (one short write transaction per tick): for every webhook that can take more work,
  lease its oldest due pending messages (``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE
  SKIP LOCKED) RETURNING``), so several workers on PostgreSQL never claim the same row and a
  worker killed with ``kill -9`` only delays its messages until their lease expires
  (at-least-once; the ``webhook-id`` stays the same on every attempt).
* **Schedule**: claimed messages wait in a per-webhook backlog; jobs start round-robin across
  workspaces, then across each workspace's webhooks, within three caps — per webhook, per
  workspace and in total — so one workspace's 100,000 events never delay another's one.
* **Record**: outcomes are batched; each batch is one transaction (attempt rows, message
  updates, circuit-breaker state). A crash before that commit loses no message: its lease
  expires and it is sent again.
* **Circuit breaker** per webhook: above the failure threshold over the rolling window (with a
  minimum number of attempts) it is ``throttled``: its messages stay queued, untouched, and one
  probe goes out per interval; a successful probe closes it. Failing for longer than
  ``webhook_disable_after_seconds`` → ``disabled`` with a reason.
* **Purge**: delivered and failed messages older than the retention are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid as uuidlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import Table, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relaydesk.config import Settings
from relaydesk.db import direct
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    MessageStatus,
    Webhook,
    WebhookAttempt,
    WebhookEvent,
    WebhookMessage,
    WebhookState,
    Workspace,
)
from relaydesk.platform.webhooks import events, repository
from relaydesk.platform.webhooks.jobs import Job, Outcome
from relaydesk.platform.webhooks.sender_process import ProcessSender, make_sender

if TYPE_CHECKING:
    from relaydesk.platform.webhooks.delivery import Sender

log = logging.getLogger("relaydesk.webhooks")

FLUSH_INTERVAL = 0.05  # seconds an outcome may wait to be committed with others
FLUSH_BATCH = 500  # outcomes that trigger a commit at once
PURGE_INTERVAL = 60.0
JITTER = 0.1
# Claim ahead: a webhook's local queue is refilled (up to PREFETCH x its concurrency cap) when
# it drops below LOW_WATER x the cap, so sends never wait for a claim (bench/README.md).
PREFETCH = 16
LOW_WATER = 8

# Core tables for the batched writes (executemany without ORM bookkeeping)
ATTEMPTS = cast(Table, WebhookAttempt.__table__)
MESSAGES = cast(Table, WebhookMessage.__table__)
EVENTS = cast(Table, WebhookEvent.__table__)


@dataclass(slots=True)
class _Endpoint:
    """What the scheduler knows of one webhook (refreshed at every claim)."""

    id: int
    workspace_id: int
    url: str
    keys: list[str]
    custom_data: dict[str, Any]
    state: str
    next_probe_on: datetime | None
    failing_since: datetime | None
    backlog: deque[Job] = field(default_factory=deque)
    inflight: int = 0


def retry_delay(
    schedule: list[float], attempts: int, retry_after: float | None, cap: float
) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones (None: no more). The
    schedule's delay ±10% jitter, at least the response's ``Retry-After`` (capped)."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def envelope_body(event_body: str, custom_data: dict[str, Any]) -> bytes:
    """The event's envelope plus the webhook's own ``custom_data`` (always present)."""
    body = event_body.encode()
    return body[:-1] + b',"custom_data":' + orjson.dumps(custom_data or {}) + b"}"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        only_workspaces: Iterable[str] = (),
        exclude_workspaces: Iterable[str] = (),
        sender: Sender | ProcessSender | None = None,
        clock: Callable[[], datetime] = utcnow,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.only_uuids = list(only_workspaces)
        self.exclude_uuids = list(exclude_workspaces)
        self.sender = sender or make_sender(settings, standalone=False)
        self.clock = clock
        self.worker_id = (
            worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuidlib.uuid4().hex[:8]}"
        )
        self.schedule_delays = settings.retry_schedule
        self.endpoints: dict[int, _Endpoint] = {}
        self.ring: deque[int] = deque()  # workspaces with work, served round-robin
        self.ws_inflight: Counter[int] = Counter()
        self.total_inflight = 0
        self.outcomes: list[Outcome] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        # claims and records never overlap in this process: a claim then always reads the
        # circuit state the last record wrote (SQLite serializes the writes anyway)
        self._db = asyncio.Lock()
        self._flush_now = asyncio.Event()
        self._stopping = False
        self._recording = True  # the committer runs until run() has drained the deliveries
        self._only_ids: set[int] | None = None
        self._exclude_ids: set[int] = set()
        self._last_purge = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def wake(self) -> None:
        """Claim now (called after a commit that queued messages in this process)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Deliver until :meth:`stop`. Errors in one tick are logged, never fatal."""
        self._loop = asyncio.get_running_loop()
        events.add_waker(self.wake)
        await self._resolve_workspaces()
        await self.sender.start()  # a sender process starts while the first claim runs
        committer = asyncio.create_task(self._committer(), name="relaydesk-webhook-commit")
        try:
            while not self._stopping:
                try:
                    await self.claim()
                    self.schedule()
                    await self._maybe_purge()
                except Exception:
                    log.exception("webhook worker tick failed")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
        finally:
            events.remove_waker(self.wake)
            await self._drain()
            # never cancel the committer: a flush cut short would lose its batch's records
            # (the messages would only be sent again after their lease)
            self._recording = False
            self._flush_now.set()
            await committer
            await self._flush()
            await self._release_backlog()
            await self.sender.close()

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def _drain(self) -> None:
        if self.tasks:  # in flight: let them finish (each is bounded by the send timeout)
            await asyncio.wait(self.tasks, timeout=self.settings.webhook_timeout_seconds + 1)

    async def _resolve_workspaces(self) -> None:
        if not (self.only_uuids or self.exclude_uuids):
            return
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(Workspace.uuid, Workspace.id).where(
                    Workspace.uuid.in_(self.only_uuids + self.exclude_uuids)
                )
            )
            ids = dict(rows.all())
        missing = [u for u in self.only_uuids + self.exclude_uuids if u not in ids]
        if missing:
            raise ValueError(f"no such workspace: {', '.join(missing)}")
        if self.only_uuids:
            self._only_ids = {ids[u] for u in self.only_uuids}
        self._exclude_ids = {ids[u] for u in self.exclude_uuids}

    # -- claiming ----------------------------------------------------------------------

    def _cap(self) -> int:
        return self.settings.webhook_endpoint_concurrency

    async def claim(self) -> int:
        """Lease due messages for every webhook that can take more. Returns how many."""
        if self._stopping:
            return 0
        now = self.clock()
        lease_until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        claimed = 0
        async with self._db, self.sessionmaker() as session:
            stmt = select(
                Webhook.id,
                Webhook.workspace_id,
                Webhook.url,
                Webhook.secret,
                Webhook.previous_secret,
                Webhook.previous_secret_expires_on,
                Webhook.custom_data,
                Webhook.state,
                Webhook.next_probe_on,
                Webhook.failing_since,
            ).where(*repository.deliverable())
            if self._only_ids is not None:
                stmt = stmt.where(Webhook.workspace_id.in_(self._only_ids))
            if self._exclude_ids:
                stmt = stmt.where(Webhook.workspace_id.not_in(self._exclude_ids))
            rows = (await session.execute(stmt)).all()
            seen: set[int] = set()
            probes: list[int] = []
            for row in rows:
                seen.add(row.id)
                endpoint = self._refresh(row, now)
                queued = len(endpoint.backlog) + endpoint.inflight
                want = 0
                probe = False
                if endpoint.state == WebhookState.THROTTLED.value:
                    due = endpoint.next_probe_on is None or endpoint.next_probe_on <= now
                    if due and queued == 0:
                        want, probe = 1, True
                elif queued < LOW_WATER * self._cap():
                    want = PREFETCH * self._cap() - queued
                if want <= 0:
                    continue
                jobs = await self._claim_for(session, endpoint, want, now, lease_until)
                for job in jobs:
                    job.probe = probe
                if probe and jobs:
                    probes.append(endpoint.id)
                claimed += len(jobs)
                if jobs:
                    endpoint.backlog.extend(jobs)
                    if endpoint.workspace_id not in self.ring:
                        self.ring.append(endpoint.workspace_id)
            if probes:
                await session.execute(
                    update(Webhook)
                    .where(Webhook.id.in_(probes))
                    .values(
                        next_probe_on=now
                        + timedelta(seconds=self.settings.webhook_probe_interval_seconds)
                    )
                )
            await session.commit()
        for gone in set(self.endpoints) - seen:  # deleted or disabled: drop what's unsent
            endpoint = self.endpoints[gone]
            endpoint.backlog.clear()
            if endpoint.inflight == 0:
                del self.endpoints[gone]
        return claimed

    def _refresh(self, row: Any, now: datetime) -> _Endpoint:
        keys = [row.secret]
        if row.previous_secret and (
            row.previous_secret_expires_on is None or row.previous_secret_expires_on > now
        ):
            keys.append(row.previous_secret)
        endpoint = self.endpoints.get(row.id)
        if endpoint is None:
            endpoint = _Endpoint(
                id=row.id,
                workspace_id=row.workspace_id,
                url=row.url,
                keys=keys,
                custom_data=row.custom_data or {},
                state=row.state,
                next_probe_on=row.next_probe_on,
                failing_since=row.failing_since,
            )
            self.endpoints[row.id] = endpoint
        else:
            endpoint.url = row.url
            endpoint.keys = keys
            endpoint.custom_data = row.custom_data or {}
            endpoint.state = row.state
            endpoint.next_probe_on = row.next_probe_on
            endpoint.failing_since = row.failing_since
        return endpoint

    async def _claim_for(
        self,
        session: AsyncSession,
        endpoint: _Endpoint,
        want: int,
        now: datetime,
        lease_until: datetime,
    ) -> list[Job]:
        # Core tables, not the ORM entities: a claim returns hundreds of rows, and the ORM's
        # bulk-update and entity machinery would cost more than the statement
        m = MESSAGES.c
        due = (
            select(m.id)
            .where(
                m.webhook_id == endpoint.id,
                m.status == MessageStatus.PENDING.value,
                m.next_attempt_on <= now,
                or_(m.lease_until.is_(None), m.lease_until < now),
            )
            .order_by(m.next_attempt_on, m.id)
            .limit(want)
            .with_for_update(skip_locked=True)
        )
        result = await session.execute(
            update(MESSAGES)
            .where(m.id.in_(due))
            .values(lease_until=lease_until, leased_by=self.worker_id)
            .returning(m.id, m.uuid, m.event_id, m.attempt_count, m.next_attempt_on)
        )
        claimed = sorted(result.all(), key=lambda r: (r.next_attempt_on, r.id))
        if not claimed:
            return []
        e = EVENTS.c
        bodies = dict(
            (
                await session.execute(
                    select(e.id, e.body).where(e.id.in_({r.event_id for r in claimed}))
                )
            ).all()
        )
        return [
            Job(
                message_pk=r.id,
                message_id=r.uuid,
                webhook_id=endpoint.id,
                workspace_id=endpoint.workspace_id,
                url=endpoint.url,
                keys=endpoint.keys,
                body=envelope_body(bodies[r.event_id], endpoint.custom_data),
                attempt_count=r.attempt_count,
                lease_until=lease_until,
            )
            for r in claimed
        ]

    # -- scheduling --------------------------------------------------------------------

    def schedule(self) -> int:
        """Start jobs round-robin: workspaces, then their webhooks, within the caps."""
        started = 0
        total_cap = self.settings.webhook_concurrency
        ws_cap = self.settings.webhook_workspace_concurrency
        cap = self._cap()
        progressed = True
        while progressed and self.total_inflight < total_cap and self.ring:
            progressed = False
            for _ in range(len(self.ring)):
                workspace_id = self.ring[0]
                self.ring.rotate(-1)
                if self.ws_inflight[workspace_id] >= ws_cap:
                    continue
                candidates = [
                    e
                    for e in self.endpoints.values()
                    if e.workspace_id == workspace_id
                    and e.backlog
                    and e.inflight < cap
                    # a throttled webhook sends its probe only
                    and (e.state == WebhookState.HEALTHY.value or e.backlog[0].probe)
                ]
                if not candidates:
                    if not any(
                        e.backlog for e in self.endpoints.values() if e.workspace_id == workspace_id
                    ):
                        self.ring.remove(workspace_id)
                    continue
                # the webhook with the fewest in flight first (round-robin within a workspace)
                endpoint = min(candidates, key=lambda e: e.inflight)
                self._start(endpoint, endpoint.backlog.popleft())
                started += 1
                progressed = True
                if self.total_inflight >= total_cap:
                    break
        return started

    def _start(self, endpoint: _Endpoint, job: Job) -> None:
        endpoint.inflight += 1
        self.ws_inflight[endpoint.workspace_id] += 1
        self.total_inflight += 1
        task = asyncio.create_task(self._deliver(endpoint, job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, endpoint: _Endpoint, job: Job) -> None:
        try:
            if job.lease_until <= self.clock():
                return  # waited too long here: another worker may own it now
            outcome = await self.sender.send(job)
            self.outcomes.append(outcome)
            if len(self.outcomes) >= FLUSH_BATCH:
                self._flush_now.set()
        except Exception:
            log.exception("webhook delivery crashed", extra={"message": job.message_id})
        finally:
            endpoint.inflight -= 1
            self.ws_inflight[endpoint.workspace_id] -= 1
            self.total_inflight -= 1
            if not self._stopping:
                self.schedule()
                if len(endpoint.backlog) + endpoint.inflight < LOW_WATER * self._cap():
                    self._wake.set()

    # -- recording ---------------------------------------------------------------------

    async def _committer(self) -> None:
        while self._recording:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), FLUSH_INTERVAL)
            self._flush_now.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("recording webhook attempts failed; will retry")
                await asyncio.sleep(FLUSH_INTERVAL)

    async def _flush(self) -> None:
        if not self.outcomes:
            return
        batch, self.outcomes = self.outcomes, []
        try:
            async with self._db, self.sessionmaker() as session:
                await self._record(session, batch)
                await session.commit()
        except Exception:
            self.outcomes[:0] = batch  # keep them for the next try (leases still hold)
            raise

    async def _record(self, session: AsyncSession, batch: list[Outcome]) -> None:
        now = self.clock()
        await direct.execute_many(
            session,
            insert(ATTEMPTS),
            [
                {
                    "message_id": o.job.message_pk,
                    "webhook_id": o.job.webhook_id,
                    "attempted_on": o.attempted_on,
                    "status_code": o.status_code,
                    "duration_ms": o.duration_ms,
                    "error": o.error,
                    "response": o.response,
                    "succeeded": o.succeeded,
                }
                for o in batch
            ],
        )
        updates = []
        for o in batch:
            attempts = o.job.attempt_count + 1
            status = MessageStatus.PENDING.value
            next_on = now
            delivered_on = None
            if o.succeeded:
                status, delivered_on = MessageStatus.DELIVERED.value, o.attempted_on
            else:
                delay = (
                    retry_delay(
                        self.schedule_delays,
                        attempts,
                        o.retry_after,
                        self.settings.webhook_retry_after_cap_seconds,
                    )
                    if o.retriable
                    else None
                )
                if delay is None:
                    status = MessageStatus.FAILED.value
                else:
                    next_on = o.attempted_on + timedelta(seconds=delay)
            updates.append(
                {
                    "b_id": o.job.message_pk,
                    "b_status": status,
                    "b_attempts": attempts,
                    "b_next": next_on,
                    "b_last": o.attempted_on,
                    "b_delivered": delivered_on,
                }
            )
        m = MESSAGES
        await direct.execute_many(
            session,
            update(m)
            .where(m.c.id == bindparam("b_id"), m.c.status == MessageStatus.PENDING.value)
            .values(
                status=bindparam("b_status"),
                attempt_count=bindparam("b_attempts"),
                next_attempt_on=bindparam("b_next"),
                last_attempt_on=bindparam("b_last"),
                delivered_on=bindparam("b_delivered"),
                lease_until=None,
                leased_by=None,
            ),
            updates,
        )
        await self._update_health(session, batch, now)

    async def _update_health(
        self, session: AsyncSession, batch: list[Outcome], now: datetime
    ) -> None:
        by_webhook: dict[int, list[Outcome]] = {}
        for o in batch:
            by_webhook.setdefault(o.job.webhook_id, []).append(o)
        rows = await session.execute(
            select(
                Webhook.id,
                Webhook.state,
                Webhook.failing_since,
                Webhook.window_start_on,
            ).where(Webhook.id.in_(by_webhook))
        )
        settings = self.settings
        for webhook_id, state, failing_since, window_start in rows.all():
            outcomes = by_webhook[webhook_id]
            last = outcomes[-1]
            values: dict[str, Any] = {}
            if last.succeeded:
                if failing_since is not None:
                    values["failing_since"] = None
                if state == WebhookState.THROTTLED.value:  # a probe got through: close
                    values.update(
                        state=WebhookState.HEALTHY.value,
                        state_changed_on=now,
                        next_probe_on=None,
                        window_start_on=now,
                    )
                    log.info("webhook circuit closed", extra={"webhook": webhook_id})
            else:
                if failing_since is None:
                    failing_since = min(o.attempted_on for o in outcomes if not o.succeeded)
                    values["failing_since"] = failing_since
                if state == WebhookState.HEALTHY.value:
                    since = repository.window_since(
                        now, window_start, settings.webhook_failure_window_seconds
                    )
                    total, failures = await repository.window_counts(session, webhook_id, since)
                    if (
                        total >= settings.webhook_failure_min_attempts
                        and failures / total > settings.webhook_failure_threshold
                    ):
                        values.update(
                            state=WebhookState.THROTTLED.value,
                            state_changed_on=now,
                            next_probe_on=now
                            + timedelta(seconds=settings.webhook_probe_interval_seconds),
                        )
                        log.warning(
                            "webhook circuit opened",
                            extra={"webhook": webhook_id, "failures": failures, "total": total},
                        )
                elif state == WebhookState.THROTTLED.value and failing_since <= now - timedelta(
                    seconds=settings.webhook_disable_after_seconds
                ):
                    values.update(
                        state=WebhookState.DISABLED.value,
                        state_changed_on=now,
                        next_probe_on=None,
                        disabled_reason=(
                            f"Every attempt failed since {format_datetime(failing_since)}; "
                            f"last error: {last.error or last.status_code}."
                        ),
                    )
                    log.warning("webhook disabled", extra={"webhook": webhook_id})
            if values:
                values["modified_on"] = now
                await session.execute(
                    update(Webhook).where(Webhook.id == webhook_id).values(**values)
                )
                endpoint = self.endpoints.get(webhook_id)
                if endpoint is not None and "state" in values:
                    endpoint.state = values["state"]
                    endpoint.next_probe_on = values.get("next_probe_on")
                    if endpoint.state != WebhookState.HEALTHY.value:
                        await self._unlease(session, list(endpoint.backlog))
                        endpoint.backlog.clear()

    async def _unlease(self, session: AsyncSession, jobs: list[Job]) -> None:
        if jobs:
            await session.execute(
                update(WebhookMessage)
                .where(
                    WebhookMessage.id.in_([j.message_pk for j in jobs]),
                    WebhookMessage.leased_by == self.worker_id,
                )
                .values(lease_until=None, leased_by=None)
            )

    async def _release_backlog(self) -> None:
        """On stop: give unsent claimed messages back at once (no waiting for the lease)."""
        jobs = [job for e in self.endpoints.values() for job in e.backlog]
        for endpoint in self.endpoints.values():
            endpoint.backlog.clear()
        if not jobs:
            return
        with contextlib.suppress(Exception):
            async with self.sessionmaker() as session:
                await self._unlease(session, jobs)
                await session.commit()

    # -- retention ---------------------------------------------------------------------

    async def _maybe_purge(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge < PURGE_INTERVAL:
            return
        self._last_purge = loop.time()
        await self.purge()

    async def purge(self) -> int:
        """Delete delivered/failed messages (with their attempts) older than the retention,
        then events left without messages. Pending messages are never purged."""
        cutoff = self.clock() - timedelta(days=self.settings.webhook_retention_days)
        async with self.sessionmaker() as session:
            old = select(WebhookMessage.id).where(
                WebhookMessage.created_on < cutoff,
                WebhookMessage.status != MessageStatus.PENDING.value,
            )
            await session.execute(delete(WebhookAttempt).where(WebhookAttempt.message_id.in_(old)))
            result = await session.execute(
                delete(WebhookMessage)
                .where(
                    WebhookMessage.created_on < cutoff,
                    WebhookMessage.status != MessageStatus.PENDING.value,
                )
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                delete(WebhookEvent)
                .where(
                    WebhookEvent.created_on < cutoff,
                    ~exists().where(WebhookMessage.event_id == WebhookEvent.id),
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
