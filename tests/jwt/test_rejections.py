"""Every way a JWT is refused (401 invalid_auth with a reason), on SQLite and PostgreSQL.

Tokens are forged with the server's own signing key (read from the database) so that each
differs from a valid one in exactly one respect; the first test proves the forging itself
yields tokens the server accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import jwt as pyjwt
from relaydesk.app import RelaydeskApp
from relaydesk.exceptions import InvalidAuth
from relaydesk.platform.jwts.service import Verifier
from tests.conftest import World
from tests.jwt.conftest import Signer, bearer, current_signer, exchange

AUDIENCE = "relaydesk-api"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def es256(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    key = pyjwt.PyJWK(signer.private_jwk, algorithm="ES256").key
    extra = {k: v for k, v in header.items() if k != "alg"}
    return pyjwt.encode(claims, key, algorithm="ES256", headers=extra)


def hs256(secret: bytes, claims: dict[str, Any], header: dict[str, Any]) -> str:
    signing_input = f"{segment({**header, 'alg': 'HS256'})}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def public_pem(signer: Signer) -> bytes:
    key = pyjwt.PyJWK(signer.public_jwk, algorithm="ES256").key
    return key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


Forge = Callable[[Signer, dict[str, Any], dict[str, Any]], str]


def with_claims(**changes: Any) -> Forge:
    def forge(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
        now = int(time.time())
        new = {**claims}
        for name, value in changes.items():
            if value is None:
                new.pop(name, None)
            else:
                new[name] = value(now) if callable(value) else value
        return es256(signer, new, header)

    return forge


def with_header(**changes: Any) -> Forge:
    def forge(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
        new = {**header}
        for name, value in changes.items():
            if value is None:
                new.pop(name, None)
            else:
                new[name] = value
        return es256(signer, claims, new)

    return forge


def tampered_payload(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    token = es256(signer, claims, header)
    head, _payload, signature = token.split(".")
    return f"{head}.{segment({**claims, 'key': claims['key'] + 1})}.{signature}"


def tampered_signature(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    token = es256(signer, claims, header)
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01
    return f"{head}.{payload}.{b64(bytes(raw))}"


def alg_none(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    return f"{segment({**header, 'alg': 'none'})}.{segment(claims)}."


def hs256_public_pem(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    return hs256(public_pem(signer), claims, header)


def hs256_public_jwk(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
    return hs256(json.dumps(signer.public_jwk).encode(), claims, header)


def another_key(kid: str | None) -> Forge:
    def forge(signer: Signer, claims: dict[str, Any], header: dict[str, Any]) -> str:
        private = ec.generate_private_key(ec.SECP256R1())
        new = {**header, "kid": kid or signer.kid}
        return pyjwt.encode(claims, private, algorithm="ES256", headers=new)

    return forge


CASES: dict[str, tuple[Forge, str]] = {
    "expired": (
        with_claims(iat=lambda n: n - 1000, nbf=lambda n: n - 1000, exp=lambda n: n - 100),
        "JWT has expired.",
    ),
    "not yet valid": (
        with_claims(nbf=lambda n: n + 300, exp=lambda n: n + 900),
        "JWT is not valid yet (nbf).",
    ),
    "issued in the future": (
        with_claims(iat=lambda n: n + 300, nbf=lambda n: n, exp=lambda n: n + 900),
        "JWT was issued in the future (iat).",
    ),
    "wrong aud": (
        with_claims(aud="https://other.example/api"),
        f"JWT is not meant for this API (aud must be {AUDIENCE!r}).",
    ),
    "wrong aud list": (
        with_claims(aud=["https://other.example/api", "relaydesk"]),
        f"JWT is not meant for this API (aud must be {AUDIENCE!r}).",
    ),
    "no aud": (with_claims(aud=None), "JWT lacks claim(s): aud."),
    "wrong iss": (
        with_claims(iss="https://relaydesk.evil.example"),
        "JWT was issued by another server (iss).",
    ),
    "no exp": (with_claims(exp=None), "JWT lacks claim(s): exp."),
    "no jti": (with_claims(jti=None), "JWT lacks claim(s): jti."),
    "lifetime over 15 minutes": (
        with_claims(iat=lambda n: n, exp=lambda n: n + 3600),
        "JWT lifetime exceeds 900 seconds.",
    ),
    "no key claim": (with_claims(key=None), "JWT names no API key (key)."),
    "key claim not an integer": (with_claims(key="1"), "JWT names no API key (key)."),
    "tampered payload": (tampered_payload, "JWT signature is invalid."),
    "tampered signature": (tampered_signature, "JWT signature is invalid."),
    "alg none": (alg_none, "JWT algorithm must be ES256."),
    "HS256 with the public key (PEM)": (hs256_public_pem, "JWT algorithm must be ES256."),
    "HS256 with the public key (JWK)": (hs256_public_jwk, "JWT algorithm must be ES256."),
    "unknown kid": (another_key("no-such-kid"), "JWT signing key (kid) is unknown or retired."),
    "no kid": (with_header(kid=None), 'JWT header has no "kid".'),
    "known kid, other key": (another_key(None), "JWT signature is invalid."),
    "typ JWT": (with_header(typ="JWT"), 'JWT header "typ" must be "at+jwt".'),
    "no typ": (with_header(typ=None), 'JWT header "typ" must be "at+jwt".'),
    "crit header": (with_header(crit=["exp"]), 'JWT header "crit" is not supported.'),
}


async def _parts(app: RelaydeskApp, token: str) -> tuple[Signer, dict[str, Any], dict[str, Any]]:
    signer = await current_signer(app)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    return signer, claims, pyjwt.get_unverified_header(token)


async def test_forged_control_token_is_accepted(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    signer, claims, header = await _parts(app, await exchange(client, world.a.company_v3))
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": signer.kid}
    for forge in (with_claims(), with_header(typ="application/at+jwt")):
        response = await client.get("/api/v3/me", headers=bearer(forge(signer, claims, header)))
        assert response.status_code == 200, response.text
        assert response.json()["credential"] == "jwt"


@pytest.mark.parametrize("case", list(CASES))
async def test_rejected(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, case: str
) -> None:
    signer, claims, header = await _parts(app, await exchange(client, world.a.company_v3))
    forge, detail = CASES[case]
    token = forge(signer, claims, header)
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 401, (case, response.text)
    assert response.json() == {"error": "invalid_auth", "detail": detail}
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "token",
    ["eyJ.eyJ.x", "eyJhbGciOiJFUzI1NiJ9.%%%.abc", "eyJ0eXAi.e30.", "eyJ" + "A" * 40 + ".e30.x"],
)
async def test_malformed_jwts(client: httpx.AsyncClient, world: World, token: str) -> None:
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_auth"


async def test_jwt_of_a_v2_key_cannot_exist_but_would_not_pass_v3(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    """The server never signs a JWT for a v2 key; one forged with its key would still be an
    API v2 credential, refused on /api/v3 like the key itself."""
    signer, claims, header = await _parts(app, await exchange(client, world.a.company_v3))
    token = es256(signer, {**claims, "key": world.a.company_id}, header)
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 401
    assert "v2 API token" in response.json()["detail"]


async def test_a_verified_jwt_is_still_refused_once_expired(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    """Verified JWTs are remembered; a remembered one still expires (checked at each use)."""
    token = await exchange(client, world.a.company_v3)
    verifier = Verifier(app.state.jwt_keys, app.state.settings)
    key_id = await verifier(token)
    assert await verifier(token) == key_id  # remembered
    assert token in verifier._verified
    exp = pyjwt.decode(token, options={"verify_signature": False})["exp"]
    verifier.clock = lambda: datetime.fromtimestamp(exp + 29, UTC)  # within the leeway
    assert await verifier(token) == key_id
    verifier.clock = lambda: datetime.fromtimestamp(exp + 31, UTC)
    with pytest.raises(InvalidAuth, match=r"JWT has expired\."):
        await verifier(token)
    assert token not in verifier._verified
    # and a tampered copy of a remembered token is not it
    verifier.clock = lambda: datetime.now(UTC)
    await verifier(token)
    with pytest.raises(InvalidAuth, match="signature"):
        await verifier(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
