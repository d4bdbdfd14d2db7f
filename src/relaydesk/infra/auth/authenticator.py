"""Turn an API key into a :class:`Principal`, with a cache that never outlives a revocation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relaydesk.exceptions import InvalidAuth
from relaydesk.infra.auth import keys
from relaydesk.infra.auth.header import extract_key
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.cache import EpochCache
from relaydesk.infra.changes import ChangeWatcher
from relaydesk.infra.ratelimit.core import Limits
from relaydesk.kit.time import Clock, utcnow
from relaydesk.models import ApiToken, Membership, Role, TokenKind, User, Workspace

log = logging.getLogger("relaydesk.auth")

INVALID = "Invalid token."
EXPIRED = "Token has expired."
INACTIVE = "User inactive or deleted."


@dataclass(slots=True)
class _Entry:
    principal: Principal
    expires_on: datetime | None
    last_used_on: datetime | None


@dataclass
class LastUsedRecorder:
    """Batches ``last_used_on`` writes: at most one per token per ``resolution``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    resolution: timedelta
    pending: dict[int, datetime] = field(default_factory=dict)

    def due(self, last_used_on: datetime | None, now: datetime) -> bool:
        return last_used_on is None or now - last_used_on >= self.resolution

    def record(self, token_id: int, now: datetime) -> None:
        self.pending[token_id] = now

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        try:
            async with self.sessionmaker() as session:
                for token_id, used_on in batch.items():
                    await session.execute(
                        update(ApiToken).where(ApiToken.id == token_id).values(last_used_on=used_on)
                    )
                await session.commit()
        except Exception:
            log.exception("could not record token last_used_on; will retry")
            for token_id, used_on in batch.items():
                self.pending.setdefault(token_id, used_on)

    async def run(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())


class Authenticator:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        watcher: ChangeWatcher,
        *,
        cache_max_age: float,
        last_used_resolution: timedelta,
        limits_for: Callable[[Workspace], Limits],
        clock: Clock = utcnow,
    ) -> None:
        self.limits_for = limits_for
        # Notification-based watchers (PostgreSQL) learn of changes through a callback: let
        # the event loop run callbacks that arrived together with this request first.
        self.yield_first = watcher.notified
        self.sessionmaker = sessionmaker
        self.cache: EpochCache[str, _Entry] = EpochCache(watcher, max_age=cache_max_age)
        self.last_used = LastUsedRecorder(sessionmaker, last_used_resolution)
        self.clock = clock

    async def authenticate_header(self, header: str | None) -> Principal:
        return await self.authenticate(extract_key(header))

    async def authenticate(self, key: str) -> Principal:
        if not keys.is_well_formed(key):
            raise InvalidAuth(INVALID)
        digest = keys.digest(key)
        if self.yield_first:
            await asyncio.sleep(0)
        entry = self.cache.get(digest)
        if entry is None:
            version = self.cache.version()
            entry = await self._load(digest)
            self.cache.put(digest, entry, version)
        now = self.clock()
        if entry.expires_on is not None and now >= entry.expires_on:
            raise InvalidAuth(EXPIRED)
        if self.last_used.due(entry.last_used_on, now):
            entry.last_used_on = now
            assert entry.principal.token_id is not None
            self.last_used.record(entry.principal.token_id, now)
        return entry.principal

    async def _load(self, digest: str) -> _Entry:
        stmt = (
            select(ApiToken, User, Workspace, Membership.role)
            .join(User, User.id == ApiToken.user_id)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .outerjoin(
                Membership,
                (Membership.user_id == ApiToken.user_id)
                & (Membership.workspace_id == ApiToken.workspace_id),
            )
            .where(ApiToken.token_hash == digest)
        )
        async with self.sessionmaker() as session:
            row = (await session.execute(stmt)).first()
        if row is None:
            raise InvalidAuth(INVALID)
        token, user, workspace, role = row
        if token.deleted_on is not None or not workspace.is_active:
            raise InvalidAuth(INVALID)
        if user.deleted_on is not None or role is None:
            raise InvalidAuth(INACTIVE)
        principal = Principal(
            workspace_id=workspace.id,
            workspace_uuid=workspace.uuid,
            plan=workspace.plan,
            user_id=user.id,
            user_uuid=user.uuid,
            user_email=user.email,
            role=Role(role),
            token_id=token.id,
            token_kind=TokenKind(token.kind),
            api_version=token.api_version,
            limits=self.limits_for(workspace),
        )
        return _Entry(principal, token.expires_on, token.last_used_on)
