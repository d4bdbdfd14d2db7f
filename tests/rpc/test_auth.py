"""RPC authentication: Basic (key as username or password), Bearer key, Token, Bearer JWT;
401 not_authed / invalid_auth; 403 forbidden for a missing scope or role."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx
import pytest

from relaydesk.app import RelaydeskApp
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import Principal
from tests.conftest import World
from tests.rpc.conftest import basic, bearer, failed, ok, rpc


async def test_agent_me_with_every_credential_form(client: httpx.AsyncClient, world: World) -> None:
    admin = world.a.admin
    forms = {
        "bearer v3 key": bearer(admin.personal_v3),
        "bearer v2 key": bearer(admin.personal),
        "token": {"Authorization": f"Token {admin.personal_v3}"},
        "basic username": basic(admin.personal_v3),
        "basic password": basic(admin.email, admin.personal_v3),
    }
    for name, headers in forms.items():
        body = ok(await rpc(client, "agent.me", headers=headers))
        assert body["agent"]["email"] == admin.email, name
        assert body["agent"]["role"] == "administrator", name
        assert body["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}, name
        assert body["credential"] == "api_key"
        assert body["token_kind"] == "personal"
        assert body["scopes"] == list(scopes.ALL)
    viewer = ok(await rpc(client, "agent.me", world.b.viewer.personal_v3))
    assert viewer["agent"]["email"] == world.b.viewer.email
    assert viewer["agent"]["role"] == "viewer"
    assert viewer["workspace"] == {"uuid": world.b.uuid, "name": world.b.name}
    assert not any(s.endswith(":write") for s in viewer["scopes"])
    company = ok(await rpc(client, "agent.me", world.a.company_v3))
    assert company["token_kind"] == "company"


async def test_bearer_jwt(app: RelaydeskApp, client: httpx.AsyncClient, world: World) -> None:
    app.state.jwt_keys.clear()  # the clean fixture deleted the keys this process cached
    try:
        response = await client.post("/api/v3/jwts", json={"api_key": world.a.editor.personal_v3})
        assert response.status_code == 200, response.text
        jwt = response.json()["token"]
        body = ok(await rpc(client, "agent.me", jwt))
        assert body["credential"] == "jwt"
        assert body["agent"]["email"] == world.a.editor.email
        listed = ok(await rpc(client, "webhook.list", jwt))
        assert listed["webhooks"] == []
    finally:
        app.state.jwt_keys.clear()


async def test_missing_credentials(client: httpx.AsyncClient, world: World) -> None:
    for method in ("agent.me", "webhook.list", "webhook.create"):
        response = await client.post(f"/api/rpc/{method}", json={})
        body = failed(response, 401, "not_authed")
        assert body["message"] == "Authentication credentials were not provided."
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # a scheme we don't know is no credentials either
    response = await rpc(client, "agent.me", headers={"Authorization": "Digest abc"})
    failed(response, 401, "not_authed")


async def test_invalid_credentials(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.admin.personal_v3
    wrong = key[:-2] + ("AA" if key[-2:] != "AA" else "BB")
    for headers in (bearer(wrong), basic(wrong), basic("me@example.com", wrong), bearer("nope")):
        response = await rpc(client, "agent.me", headers=headers)
        failed(response, 401, "invalid_auth")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    response = await rpc(client, "agent.me", headers={"Authorization": "Basic !!"})
    failed(response, 401, "invalid_auth")


@pytest.fixture
def grant(app: RelaydeskApp, monkeypatch: pytest.MonkeyPatch) -> Callable[[frozenset[str]], None]:
    """``grant(scopes)``: every key now authenticates as an OAuth token with those scopes."""
    authenticator = app.state.authenticator
    original = authenticator.authenticate_header

    def as_oauth(granted: frozenset[str]) -> None:
        async def authenticate_header(header: str | None) -> Principal:
            principal: Principal = await original(header)
            return dataclasses.replace(principal, credential="oauth", granted=granted)

        monkeypatch.setattr(authenticator, "authenticate_header", authenticate_header)

    return as_oauth


async def test_missing_scope_is_forbidden(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    grant(frozenset({scopes.CONTACTS_READ}))
    key = world.a.admin.personal_v3
    for method in ("webhook.list", "webhook.create", "webhook.delete"):
        body = failed(await rpc(client, method, key), 403, "forbidden")
        assert scopes.WEBHOOKS_MANAGE in body["message"]
    me = ok(await rpc(client, "agent.me", key))  # needs no scope
    assert me["credential"] == "oauth"
    assert me["scopes"] == [scopes.CONTACTS_READ]
    grant(frozenset({scopes.WEBHOOKS_MANAGE}))
    assert ok(await rpc(client, "webhook.list", key))["webhooks"] == []


async def test_role_checks_still_apply(client: httpx.AsyncClient, world: World) -> None:
    """Every role has webhooks:manage (to read); writing still needs an administrator."""
    for key in (world.a.viewer.personal_v3, world.a.editor.personal_v3):
        assert ok(await rpc(client, "webhook.list", key))["webhooks"] == []
        response = await rpc(
            client, "webhook.create", key, url="http://127.0.0.1:9/h", events=["*"]
        )
        failed(response, 403, "forbidden")
