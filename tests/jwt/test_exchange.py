"""POST /api/v3/jwts, GET /api/v3/me, /.well-known/jwks.json, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import jwt as pyjwt
from relaydesk.app import RelaydeskApp
from relaydesk.domains.users import service as users
from relaydesk.infra import changes
from relaydesk.infra.auth import keys
from relaydesk.infra.auth import scopes as api_scopes
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.time import utcnow
from relaydesk.models import ApiToken, Membership, Role, User
from tests.conftest import World, auth
from tests.jwt.conftest import bearer, exchange, token_id

AUDIENCE = "relaydesk-api"
ISSUER = "http://testserver"  # the settings fixture's base_url


async def test_exchange_returns_a_bearer_jwt(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v3/jwts", json={"api_key": world.a.company_v3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900

    header = pyjwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    assert header["kid"]
    claims = pyjwt.decode(body["token"], options={"verify_signature": False})
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["workspace"] == world.a.uuid
    assert claims["exp"] - claims["iat"] == 900
    assert claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - utcnow().timestamp()) < 60
    assert claims["scope"] == api_scopes.render(api_scopes.for_role(world.a.admin.role))
    assert isinstance(claims["key"], int)
    assert claims["client_id"] == f"api_key:{claims['key']}"
    assert len(claims["jti"]) >= 16
    # each JWT its own jti
    again = pyjwt.decode(
        await exchange(client, world.a.company_v3), options={"verify_signature": False}
    )
    assert again["jti"] != claims["jti"]


async def test_jwt_verifies_with_pyjwt_against_the_served_jwks(
    client: httpx.AsyncClient, world: World
) -> None:
    token = await exchange(client, world.a.admin.personal_v3)
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    jwks = response.json()
    assert [k["kty"] for k in jwks["keys"]] == ["EC"]
    assert all("d" not in k for k in jwks["keys"])  # public keys only
    key = pyjwt.PyJWKSet.from_dict(jwks)[pyjwt.get_unverified_header(token)["kid"]]
    claims = pyjwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    me = (await client.get("/api/v3/me", headers=bearer(token))).json()
    assert claims["sub"] == me["user"]["uuid"]
    assert claims["workspace"] == world.a.uuid


async def test_me_with_a_jwt(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    token = await exchange(client, world.a.viewer.personal_v3)
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["credential"] == "jwt"
    assert me["workspace"]["uuid"] == world.a.uuid
    assert me["user"]["email"] == world.a.viewer.email
    assert me["user"]["role"] == "viewer"
    assert me["token"] == {
        "id": await token_id(session, world.a.viewer.email, "mine v3"),
        "kind": "personal",
        "api_version": "v3",
    }
    viewer = api_scopes.for_role(Role.VIEWER)
    assert me["scopes"] == [s for s in api_scopes.ALL if s in viewer]
    assert not any(s.endswith(":write") for s in me["scopes"])
    # the JWT's sub is the user
    assert pyjwt.decode(token, options={"verify_signature": False})["sub"] == me["user"]["uuid"]


async def test_me_with_an_api_key(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v3/me", headers=bearer(world.b.company_v3))
    assert response.status_code == 200
    me = response.json()
    assert me["credential"] == "api_key"
    assert me["workspace"]["uuid"] == world.b.uuid
    assert me["token"]["kind"] == "company"
    assert me["scopes"] == list(api_scopes.ALL)


async def test_me_needs_credentials(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v3/me")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authed"


async def test_jwt_works_on_other_v3_endpoints_and_stays_in_its_workspace(
    client: httpx.AsyncClient, world: World
) -> None:
    token = await exchange(client, world.b.company_v3)
    response = await client.get("/api/v3/tokens", headers=bearer(token))
    assert response.status_code == 200
    names = {t["user"]["email"] for t in response.json()}
    assert names
    assert all(e.endswith("@beta-org.example.com") for e in names)
    # the JWT also works where its key does on v2 (any scheme the key takes)
    v2 = await client.get("/api/v2/workspace.json", headers={"Authorization": f"Token {token}"})
    assert v2.status_code == 200
    assert v2.json()["uuid"] == world.b.uuid


async def test_jwt_counts_against_its_api_key(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    key_id = await token_id(session, world.a.editor.email, "mine v3")
    token = await exchange(client, world.a.editor.personal_v3)  # 1 request of the key
    for _ in range(3):
        assert (await client.get("/api/v3/me", headers=bearer(token))).status_code == 200
    assert (await client.get("/api/v3/me", headers=bearer(world.a.editor.personal_v3))).is_success
    usage = await app.state.limiter.usage(world.a.id, ["v3"], [key_id])
    assert usage.tokens[key_id][0] == 5
    assert usage.endpoints["v3"] == 5
    # the exchange reports the key's limits like any request with it
    response = await client.post("/api/v3/jwts", json={"api_key": world.a.editor.personal_v3})
    assert "ratelimit" in response.headers
    assert response.headers["x-ratelimit-resource"] in ("minute", "day", "v3")


@pytest.mark.parametrize("which", ["v2 key", "unknown key", "garbage", "empty"])
async def test_exchange_rejects_bad_keys(
    client: httpx.AsyncClient, world: World, which: str
) -> None:
    api_key = {
        "v2 key": world.a.company,
        "unknown key": keys.generate().plaintext,
        "garbage": "not-a-key",
        "empty": "",
    }[which]
    response = await client.post("/api/v3/jwts", json={"api_key": api_key})
    if which == "empty":
        assert response.status_code == 400
        assert "api_key" in response.json()
        return
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_auth"
    if which == "v2 key":
        assert body["detail"] == "This is a v2 API token; JWTs are issued only for v3 API keys."
    else:
        assert body["detail"] == "Invalid token."
    assert response.headers["www-authenticate"].startswith("Bearer ")


async def test_exchange_rejects_deleted_and_expired_keys(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    deleted = await token_id(session, world.a.editor.email, "mine v3")
    expired = await token_id(session, world.a.viewer.email, "mine v3")
    await session.execute(
        update(ApiToken).where(ApiToken.id == deleted).values(deleted_on=utcnow())
    )
    await session.execute(
        update(ApiToken).where(ApiToken.id == expired).values(expires_on=utcnow())
    )
    await session.commit()
    client_app: RelaydeskApp = client._transport.app  # type: ignore[attr-defined]
    client_app.state.authenticator.cache.clear()
    for api_key, detail in (
        (world.a.editor.personal_v3, "Invalid token."),
        (world.a.viewer.personal_v3, "Token has expired."),
    ):
        response = await client.post("/api/v3/jwts", json={"api_key": api_key})
        assert response.status_code == 401
        assert response.json()["detail"] == detail


async def test_a_jwt_is_not_exchanged_for_another(client: httpx.AsyncClient, world: World) -> None:
    token = await exchange(client, world.a.company_v3)
    response = await client.post("/api/v3/jwts", json={"api_key": token})
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


async def test_exchange_takes_no_other_fields(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/api/v3/jwts", json={"api_key": world.a.company_v3, "expires_in": 86400}
    )
    assert response.status_code == 400


async def test_bad_keys_count_towards_the_ip_guard(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    limit = app.state.settings.auth_failures_per_minute
    for _ in range(limit):
        await client.post("/api/v3/jwts", json={"api_key": keys.generate().plaintext})
    response = await client.post("/api/v3/jwts", json={"api_key": world.a.company_v3})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


async def test_deleting_the_key_stops_its_jwts_at_once(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    token = await exchange(client, world.a.admin.personal_v3)
    other = await exchange(client, world.a.company_v3)
    assert (await client.get("/api/v3/me", headers=bearer(token))).status_code == 200
    key_id = await token_id(session, world.a.admin.email, "mine v3")
    deleted = await client.delete(f"/api/v3/tokens/{key_id}", headers=auth(world.a.company_v3))
    assert deleted.status_code == 204
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_auth", "detail": "Invalid token."}
    # the workspace's other keys and their JWTs are unaffected
    assert (await client.get("/api/v3/me", headers=bearer(other))).status_code == 200


async def test_jwt_follows_the_keys_current_role_and_user(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    token = await exchange(client, world.a.editor.personal_v3)
    user = (
        await session.execute(select(User).where(User.email == world.a.editor.email))
    ).scalar_one()
    await session.execute(
        update(Membership).where(Membership.user_id == user.id).values(role=Role.VIEWER.value)
    )
    await changes.bump(session)
    await session.commit()
    me = (await client.get("/api/v3/me", headers=bearer(token))).json()
    assert me["user"]["role"] == "viewer"
    assert not any(s.endswith(":write") for s in me["scopes"])

    await users.delete(session, world.a.editor.email)
    await session.commit()
    response = await client.get("/api/v3/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "User inactive or deleted."


async def test_me_of_an_oauth_caller(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/api/v3/me needs no scope: an OAuth token with any grant sees itself, its scopes the
    grant narrowed to the role (the caller is a key turned into an OAuth principal)."""
    authenticator = app.state.authenticator
    original = authenticator.authenticate_header
    granted = frozenset({api_scopes.CONTACTS_READ, api_scopes.CONTACTS_WRITE})

    async def as_oauth(header: str | None) -> Principal:
        principal: Principal = await original(header)
        return dataclasses.replace(principal, credential="oauth", granted=granted)

    monkeypatch.setattr(authenticator, "authenticate_header", as_oauth)
    me = (await client.get("/api/v3/me", headers=bearer(world.a.viewer.personal_v3))).json()
    assert me["credential"] == "oauth"
    assert me["scopes"] == [api_scopes.CONTACTS_READ]
