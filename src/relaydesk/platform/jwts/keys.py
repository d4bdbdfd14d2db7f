"""Signing keys: generated here, stored in the database (``signing_keys``, private key
included), cached in each process.

Rotation publishes before it signs. ``relaydesk keys rotate`` adds a key, which appears in the
JWKS at once, and schedules the current key to stop signing ``RELAYDESK_JWT_KEY_ACTIVATION_
SECONDS`` later (``retired_on``, 120 s by default): by the time the new key signs, verifiers
that cache the JWKS (``Cache-Control: max-age=60``; PyJWT's ``PyJWKClient`` refetches an unknown
kid at most every 30 s) have it. The signing key is the oldest one whose ``retired_on`` is not
past. A retired key still verifies until ``verify_until`` = ``retired_on`` + the longest token
lifetime + :data:`RETIRED_GRACE`, then leaves the JWKS; the next rotation deletes it.

Every process reads the keys from the database and caches them like the authenticator caches
API keys (:class:`~relaydesk.infra.cache.EpochCache`): a rotation bumps the change epoch, which
empties the caches of every process at once (at worst ``max_age`` later). A JWT whose ``kid`` is
not in the cache re-reads the keys (at most once a second), so a key added on another host
verifies here even before the change has arrived.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relaydesk.infra.cache import EpochCache
from relaydesk.infra.changes import ChangeWatcher
from relaydesk.kit.time import Clock, utcnow
from relaydesk.models import SigningKey
from relaydesk.platform.jwts import repository

ALGORITHM = "ES256"
CURVE = "P-256"
MAX_TTL_SECONDS = 900  # the longest lifetime of a JWT (RELAYDESK_JWT_TTL_SECONDS <= this)
RETIRED_GRACE = timedelta(minutes=5)
RELOAD_INTERVAL = 1.0  # seconds between re-reads caused by an unknown kid
_RING = "ring"


@dataclass(frozen=True, slots=True)
class LoadedKey:
    kid: str
    public: ECKey
    public_jwk: dict[str, Any]
    created_on: datetime
    retired_on: datetime | None
    verify_until: datetime | None
    private_jwk: str = field(repr=False)

    def private(self) -> ECKey:
        return ECKey.import_key(json.loads(self.private_jwk))

    def signs_at(self, now: datetime) -> bool:
        return self.retired_on is None or now < self.retired_on

    def verifies_at(self, now: datetime) -> bool:
        return self.verify_until is None or now < self.verify_until


def signer(keys: Sequence[LoadedKey], now: datetime) -> LoadedKey | None:
    """The key that signs at ``now``: the oldest one not retired by then."""
    candidates = [k for k in keys if k.signs_at(now)]
    return min(candidates, key=lambda k: (k.created_on, k.kid), default=None)


@dataclass(frozen=True, slots=True)
class Ring:
    by_kid: dict[str, LoadedKey]

    def signing(self, now: datetime) -> LoadedKey | None:
        """None: no key yet (or all retired): the next JWT creates one."""
        return signer(list(self.by_kid.values()), now)

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.by_kid.values()]}


def generate(now: datetime) -> SigningKey:
    """A new P-256 key; its ``kid`` is the RFC 7638 thumbprint of the public key."""
    key = ECKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_jwk=json.dumps(key.as_dict(private=True)),
        public_jwk=public,
        created_on=now,
    )


def load(row: SigningKey) -> LoadedKey:
    return LoadedKey(
        kid=row.kid,
        public=ECKey.import_key(
            {k: v for k, v in row.public_jwk.items() if k in ("kty", "crv", "x", "y")}
        ),
        public_jwk=dict(row.public_jwk),
        created_on=row.created_on,
        retired_on=row.retired_on,
        verify_until=row.verify_until,
        private_jwk=row.private_jwk,
    )


def build(rows: Sequence[SigningKey]) -> Ring:
    """``rows`` newest first (:func:`repository.usable`): so is the JWKS."""
    return Ring(by_kid={r.kid: load(r) for r in rows if r.algorithm == ALGORITHM})


class KeyRing:
    """This process's view of the signing keys."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        watcher: ChangeWatcher,
        *,
        max_age: float,
        clock: Clock = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self._cache: EpochCache[str, Ring] = EpochCache(watcher, max_age=max_age)
        self._reloaded_at = -RELOAD_INTERVAL

    async def ring(self, *, fresh: bool = False) -> Ring:
        ring = None if fresh else self._cache.get(_RING)
        if ring is None:
            version = self._cache.version()
            async with self.sessionmaker() as session:
                rows = await repository.usable(session, self.clock())
            ring = build(rows)
            self._cache.put(_RING, ring, version)
        return ring

    async def verifying_key(self, kid: str) -> LoadedKey | None:
        found = (await self.ring()).by_kid.get(kid)
        if found is None and time.monotonic() - self._reloaded_at >= RELOAD_INTERVAL:
            self._reloaded_at = time.monotonic()
            found = (await self.ring(fresh=True)).by_kid.get(kid)
        if found is not None and not found.verifies_at(self.clock()):
            return None
        return found

    def clear(self) -> None:
        self._cache.clear()
