"""Issue and verify the JWTs that v3 API keys are exchanged for (docs/auth.md).

A JWT is the API key in another form: the same workspace, user, role and rate limits (it
counts against its key), for at most 15 minutes. Its ``key`` claim names the API key; every
request re-reads that key through the authenticator's cache, which every token change empties
in every process, so deleting the key stops its JWTs at once (within the cache's max age, 30 s,
if the change notification is lost).

Tokens: ES256 (P-256), header ``typ: at+jwt`` (RFC 9068) and ``kid``; claims ``iss`` (the
server's base URL), ``aud`` (:data:`AUDIENCE`), ``sub`` (the user's uuid), ``client_id``,
``workspace`` (uuid), ``scope``, ``key``, ``iat``, ``nbf``, ``exp``, ``jti``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from joserfc import jws, jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.config import Settings
from relaydesk.exceptions import InvalidAuth
from relaydesk.infra import changes
from relaydesk.infra.auth import keys as api_keys
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.authenticator import INVALID, Authenticator
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.changes import ChangeWatcher
from relaydesk.kit.time import Clock, format_datetime, utcnow
from relaydesk.models import ApiVersion, SigningKey
from relaydesk.platform.jwts import repository
from relaydesk.platform.jwts.keys import (
    ALGORITHM,
    MAX_TTL_SECONDS,
    RETIRED_GRACE,
    KeyRing,
    LoadedKey,
    generate,
    load,
    signer,
)
from relaydesk.platform.jwts.schemas import (
    JwtOut,
    MeOut,
    MeToken,
    MeUser,
    MeWorkspace,
    SigningKeyOut,
)

TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 media type, not a secret)
AUDIENCE = "relaydesk-api"
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
VERIFIED_CACHE_SIZE = 4096  # JWTs remembered as verified, per process

INVALID_KEY = INVALID  # what the authenticator says of an unknown or deleted key
V2_KEY = "This is a v2 API token; JWTs are issued only for v3 API keys."


# -- issuing ---------------------------------------------------------------------------------


async def principal_for_key(authenticator: Authenticator, api_key: str) -> Principal:
    """The principal of a v3 API key (InvalidAuth for anything else: a v2, deleted, expired or
    unknown key, or a JWT or OAuth token: a JWT is never exchanged for another)."""
    if not api_keys.is_well_formed(api_key):
        raise InvalidAuth(INVALID_KEY)
    principal = await authenticator.authenticate(api_key)
    if principal.credential != "api_key" or principal.token_id is None:
        raise InvalidAuth(INVALID_KEY)
    if principal.api_version != ApiVersion.V3:
        raise InvalidAuth(V2_KEY)
    return principal


async def signing_key(session: AsyncSession, ring: KeyRing) -> LoadedKey:
    """The key that signs now; the first JWT ever creates it (in the caller's transaction)."""
    now = ring.clock()
    current = (await ring.ring()).signing(now)
    if current is not None:
        return current
    row = generate(now)
    repository.add(session, row)
    await session.flush()
    await changes.bump(session)  # other processes re-read their keys
    return load(row)


async def issue(
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> JwtOut:
    key = await signing_key(session, ring)
    issued = int((now or utcnow()).timestamp())
    ttl = min(settings.jwt_ttl_seconds, MAX_TTL_SECONDS)
    claims: dict[str, Any] = {
        "iss": settings.base_url,
        "aud": AUDIENCE,
        "sub": principal.user_uuid,
        "client_id": f"api_key:{principal.token_id}",
        "workspace": principal.workspace_uuid,
        "scope": scopes.render(principal.api_scopes),
        "key": principal.token_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": key.kid}
    token = jwt.encode(header, claims, key.private(), algorithms=[ALGORITHM])
    return JwtOut(token=token, expires_in=ttl)


# -- verifying -------------------------------------------------------------------------------


_CLAIM_MESSAGES = {
    "iss": "JWT was issued by another server (iss).",
    "aud": f"JWT is not meant for this API (aud must be {AUDIENCE!r}).",
    "nbf": "JWT is not valid yet (nbf).",
    "iat": "JWT was issued in the future (iat).",
}


class Verifier:
    """``await verifier(token)`` → the id of the API key the JWT was exchanged for, or
    InvalidAuth. The authenticator then loads that key's principal (and so sees revocation).

    A JWT is used for many requests: once its signature and claims have passed, the exact token
    string is remembered (with its kid and ``exp``), and later uses only check that it has not
    expired and that its key still verifies (the signature check is ~4/5 of the cost)."""

    def __init__(self, ring: KeyRing, settings: Settings, clock: Clock = utcnow) -> None:
        self.ring = ring
        self.issuer = settings.base_url
        self.clock = clock
        self._verified: dict[str, tuple[str, int | float, int]] = {}  # token → kid, exp, key

    async def __call__(self, token: str) -> int:
        known = self._verified.get(token)
        if known is not None:
            kid, exp, key_id = known
            alive = exp > self.clock().timestamp() - LEEWAY_SECONDS
            if alive and await self.ring.verifying_key(kid) is not None:
                return key_id
            del self._verified[token]  # the full check below says why it fails
        kid, claims = await self.verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (kid, claims["exp"], claims["key"])
        return int(claims["key"])

    async def verify(self, token: str) -> tuple[str, dict[str, Any]]:
        """Every check: the signing key's kid and the claims, or InvalidAuth."""
        try:
            obj = jws.extract_compact(token.encode("ascii"))
        except (JoseError, ValueError, UnicodeError):
            raise InvalidAuth("Malformed JWT.") from None
        header = obj.headers()
        if header.get("alg") != ALGORITHM:
            raise InvalidAuth(f"JWT algorithm must be {ALGORITHM}.")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
            raise InvalidAuth(f'JWT header "typ" must be "{TOKEN_TYPE}".')
        if "crit" in header:
            raise InvalidAuth('JWT header "crit" is not supported.')
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidAuth('JWT header has no "kid".')
        key = await self.ring.verifying_key(kid)
        if key is None:
            raise InvalidAuth("JWT signing key (kid) is unknown or retired.")
        try:
            valid = jws.validate_compact(obj, key.public, algorithms=[ALGORITHM])
        except JoseError:
            valid = False
        if not valid:
            raise InvalidAuth("JWT signature is invalid.")
        try:
            claims = orjson.loads(obj.payload or b"")
        except orjson.JSONDecodeError:
            raise InvalidAuth("Malformed JWT.") from None
        if not isinstance(claims, dict):
            raise InvalidAuth("Malformed JWT.")
        self._check(claims)
        return kid, claims

    def _check(self, claims: dict[str, Any]) -> None:
        now = int(self.clock().timestamp())
        registry = JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": AUDIENCE},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidAuth("JWT has expired.") from None
        except MissingClaimError as exc:
            raise InvalidAuth(f"JWT lacks claim(s): {exc.claim}.") from None
        except InvalidClaimError as exc:
            message = _CLAIM_MESSAGES.get(exc.claim, f"JWT claim {exc.claim!r} is invalid.")
            raise InvalidAuth(message) from None
        if claims["exp"] - claims["iat"] > MAX_TTL_SECONDS:
            raise InvalidAuth(f"JWT lifetime exceeds {MAX_TTL_SECONDS} seconds.")
        key = claims.get("key")
        if type(key) is not int or key < 1:
            raise InvalidAuth("JWT names no API key (key).")


# -- keys (CLI) ------------------------------------------------------------------------------


async def rotate(
    session: AsyncSession, *, activation: timedelta, now: datetime | None = None
) -> SigningKey:
    """Add a key (published in the JWKS at once) that signs once ``activation`` has passed:
    the current key stops signing then (``retired_on``) and keeps verifying until its tokens
    have expired (``verify_until``). Keys past their ``verify_until`` are deleted. Every process
    picks the change up."""
    now = now or utcnow()
    for old in await repository.signing_after(session, now + activation):
        old.retired_on = now + activation
        old.verify_until = old.retired_on + timedelta(seconds=MAX_TTL_SECONDS) + RETIRED_GRACE
    await repository.delete_expired(session, now)
    row = generate(now)
    repository.add(session, row)
    await session.flush()
    await changes.bump(session)
    return row


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    """Every stored key, newest first."""
    return list(await repository.every(session))


def keys_out(rows: Sequence[SigningKey], now: datetime | None = None) -> list[SigningKeyOut]:
    """``rows`` as listed, each marked whether it signs at ``now``."""
    now = now or utcnow()
    current = signer([load(r) for r in rows], now)
    return [key_out(r, signing=current is not None and r.kid == current.kid) for r in rows]


def key_out(row: SigningKey, *, signing: bool) -> SigningKeyOut:
    return SigningKeyOut(
        kid=row.kid,
        algorithm=row.algorithm,
        created_on=format_datetime(row.created_on) or "",
        retired_on=format_datetime(row.retired_on),
        verify_until=format_datetime(row.verify_until),
        signing=signing,
    )


# -- /api/v3/me ------------------------------------------------------------------------------


def me(principal: Principal) -> MeOut:
    return MeOut(
        workspace=MeWorkspace(uuid=principal.workspace_uuid, plan=principal.plan),
        user=MeUser(uuid=principal.user_uuid, email=principal.user_email, role=principal.role),
        token=MeToken(
            id=principal.token_id,
            kind=principal.token_kind.value,
            api_version=principal.api_version,
        ),
        credential=principal.credential,
        scopes=[s for s in scopes.ALL if s in principal.api_scopes],
    )


# -- wiring ----------------------------------------------------------------------------------


def install(state: Any, watcher: ChangeWatcher) -> KeyRing:
    """Called by the app's lifespan once ``state`` has its sessionmaker and authenticator:
    the process's key ring (``state.jwt_keys``) and the authenticator's JWT verifier."""
    settings: Settings = state.settings
    ring = KeyRing(state.sessionmaker, watcher, max_age=settings.auth_cache_max_age_seconds)
    state.jwt_keys = ring
    state.authenticator.jwt_verifier = Verifier(ring, settings)
    return ring
