"""Turn an API key into a :class:`Principal`, with a cache that never outlives a revocation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, select, update
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
from relaydesk.models.oauth import OAuthClient, OAuthToken

log = logging.getLogger("relaydesk.auth")
Ts = TypeVarTuple("Ts")

INVALID = "Invalid token."
EXPIRED = "Token has expired."
INACTIVE = "User inactive or deleted."
# OAuth 2.0 access tokens (relaydesk.platform.oauth): opaque, stored as SHA-256 like API keys
OAUTH_ACCESS_PREFIX = "rdo_"


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


def _with_member(stmt: Select[*Ts], user_id: Any, workspace_id: Any) -> Select[*Ts]:
    """``stmt`` joined with the credential's user and workspace, and (outer) with the user's
    membership there: its role is null when the user is no longer a member."""
    return (
        stmt.join(User, User.id == user_id)
        .join(Workspace, Workspace.id == workspace_id)
        .outerjoin(
            Membership,
            (Membership.user_id == user_id) & (Membership.workspace_id == workspace_id),
        )
    )


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
        # JWTs exchanged for v3 API keys (relaydesk.platform.jwts sets it): a valid JWT's API
        # key id, or InvalidAuth
        self.jwt_verifier: Callable[[str], Awaitable[int]] | None = None

    async def authenticate_header(self, header: str | None) -> Principal:
        return await self.authenticate(extract_key(header))

    async def authenticate(self, key: str) -> Principal:
        if self.jwt_verifier is not None and key.startswith("eyJ") and key.count(".") == 2:
            return await self._authenticate_jwt(key)
        if key.startswith(OAUTH_ACCESS_PREFIX):
            return await self._authenticate_oauth(key)
        if not keys.is_well_formed(key):
            raise InvalidAuth(INVALID)
        digest = keys.digest(key)
        entry = await self._cached(digest, lambda: self._load(ApiToken.token_hash == digest))
        return self._check(entry)

    async def _cached(self, cache_key: str, load: Callable[[], Awaitable[_Entry]]) -> _Entry:
        """The cached entry for ``cache_key``, else ``load()`` (cached unless a change to
        tokens, users or workspaces arrived meanwhile)."""
        if self.yield_first:
            await asyncio.sleep(0)
        entry = self.cache.get(cache_key)
        if entry is None:
            version = self.cache.version()
            entry = await load()
            self.cache.put(cache_key, entry, version)
        return entry

    async def _authenticate_jwt(self, jwt: str) -> Principal:
        """A JWT acts as the API key it was exchanged for: the key is re-read through the
        same cache, so deleting it stops its JWTs at once."""
        assert self.jwt_verifier is not None
        token_id = await self.jwt_verifier(jwt)
        entry = await self._cached(
            f"jwt:{token_id}", lambda: self._load(ApiToken.id == token_id, credential="jwt")
        )
        return self._check(entry)

    def _check(self, entry: _Entry) -> Principal:
        now = self.clock()
        if entry.expires_on is not None and now >= entry.expires_on:
            raise InvalidAuth(EXPIRED)
        if self.last_used.due(entry.last_used_on, now):
            entry.last_used_on = now
            assert entry.principal.token_id is not None
            self.last_used.record(entry.principal.token_id, now)
        return entry.principal

    async def _load(self, match: ColumnElement[bool], credential: str = "api_key") -> _Entry:
        stmt = _with_member(
            select(ApiToken, User, Workspace, Membership.role),
            ApiToken.user_id,
            ApiToken.workspace_id,
        ).where(match)
        async with self.sessionmaker() as session:
            row = (await session.execute(stmt)).first()
        if row is None:
            raise InvalidAuth(INVALID)
        token, user, workspace, role = row
        if token.deleted_on is not None:
            raise InvalidAuth(INVALID)
        principal = self.member(
            user,
            workspace,
            role,
            token_id=token.id,
            token_kind=TokenKind(token.kind),
            api_version=token.api_version,
            credential=credential,
        )
        return _Entry(principal, token.expires_on, token.last_used_on)

    def member(self, user: User, workspace: Workspace, role: str | None, **kind: Any) -> Principal:
        """The principal of ``user`` acting in ``workspace`` (``kind``: the credential's own
        fields); InvalidAuth when the workspace is inactive or the user deleted or no longer
        a member."""
        if not workspace.is_active:
            raise InvalidAuth(INVALID)
        if user.deleted_on is not None or role is None:
            raise InvalidAuth(INACTIVE)
        return Principal(
            workspace_id=workspace.id,
            workspace_uuid=workspace.uuid,
            plan=workspace.plan,
            user_id=user.id,
            user_uuid=user.uuid,
            user_email=user.email,
            role=Role(role),
            limits=self.limits_for(workspace),
            **kind,
        )

    async def _authenticate_oauth(self, key: str) -> Principal:
        """An OAuth access token: acts as its user in its client's workspace, limited to the
        granted scopes. Revoking bumps the auth epoch, so the cache never outlives it."""
        digest = keys.digest(key)
        entry = await self._cached(digest, lambda: self._load_oauth(digest))
        if entry.expires_on is not None and self.clock() >= entry.expires_on:
            raise InvalidAuth(EXPIRED)
        return entry.principal

    async def _load_oauth(self, digest: str) -> _Entry:
        stmt = _with_member(
            select(OAuthToken, OAuthClient, User, Workspace, Membership.role).join(
                OAuthClient, OAuthClient.id == OAuthToken.client_id
            ),
            OAuthToken.user_id,
            OAuthToken.workspace_id,
        ).where(OAuthToken.access_token_hash == digest)
        async with self.sessionmaker() as session:
            row = (await session.execute(stmt)).first()
        if row is None:
            raise InvalidAuth(INVALID)
        token, client, user, workspace, role = row
        if token.revoked_on is not None or client.deleted_on is not None:
            raise InvalidAuth(INVALID)
        principal = self.member(
            user,
            workspace,
            role,
            token_id=-token.id,  # rate-limit counters: negative ids never meet an API key's
            token_kind=TokenKind.PERSONAL,
            api_version="v3",
            credential="oauth",
            granted=frozenset(token.scope.split()),
        )
        return _Entry(principal, token.expires_on, None)
