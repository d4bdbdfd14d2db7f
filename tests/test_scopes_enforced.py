"""API scopes on every door (docs/auth.md#login-and-scopes).

An OAuth access token carries the scopes its user granted (``Principal.granted``); each REST v2
endpoint and v3 router needs one scope per operation on top of the role checks it always had.
Most tests turn the caller of a real API key into an OAuth caller with a chosen grant (the
authenticator is wrapped), so they exercise the doors exactly; one goes through a real
``rdo_`` access token row. API keys keep every scope their role has, so they are unaffected.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import V2_ENDPOINTS, RelaydeskApp
from relaydesk.infra.auth import keys, scopes
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.time import utcnow
from relaydesk.models import OAuthClient, OAuthToken, Role, TokenKind, User
from relaydesk.platform.tokens.router_v3 import router as tokens_router
from relaydesk.platform.usage.router_v3 import router as usage_router
from relaydesk.platform.webhooks.router_v3 import custom_data_router
from relaydesk.platform.webhooks.router_v3 import router as webhooks_router
from tests.conftest import World

READ_ONLY = frozenset({scopes.CONTACTS_READ})


def token(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def grant(app: RelaydeskApp, monkeypatch: pytest.MonkeyPatch) -> Callable[[frozenset[str]], None]:
    """``grant(scopes)``: from now on, every key authenticates as an OAuth token of its user
    with exactly these granted scopes."""
    authenticator = app.state.authenticator
    original = authenticator.authenticate_header

    def as_oauth(granted: frozenset[str]) -> None:
        async def authenticate_header(header: str | None) -> Principal:
            principal: Principal = await original(header)
            return dataclasses.replace(principal, credential="oauth", granted=granted)

        monkeypatch.setattr(authenticator, "authenticate_header", authenticate_header)

    return as_oauth


def names_scope(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    assert scope in response.json()["detail"]


# -- REST v2 ---------------------------------------------------------------------------------


async def test_contacts_read_grant_reads_but_cannot_write_or_see_workspace(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    grant(READ_ONLY)
    key = token(world.a.admin.personal)
    for slug in ("contacts", "groups", "fields", "labels", "globals"):
        response = await client.get(f"/api/v2/{slug}.json", headers=key)
        assert response.status_code == 200, (slug, response.text)
    for slug in ("workspace", "org", "users"):
        response = await client.get(f"/api/v2/{slug}.json", headers=key)
        names_scope(response, scopes.WORKSPACE_READ)
        assert set(response.json()) == {"detail"}  # DRF shape
    for slug, body in (
        ("contacts", {"name": "Ann"}),
        ("groups", {"name": "G"}),
        ("fields", {"name": "Nick", "type": "text"}),
        ("labels", {"name": "L"}),
        ("globals", {"name": "Org Name", "value": "x"}),
        ("contact_actions", {"action": "block", "contacts": [str(uuid.uuid4())]}),
    ):
        response = await client.post(f"/api/v2/{slug}.json", headers=key, json=body)
        names_scope(response, scopes.CONTACTS_WRITE)
    response = await client.delete(f"/api/v2/contacts.json?uuid={uuid.uuid4()}", headers=key)
    names_scope(response, scopes.CONTACTS_WRITE)


async def test_granted_scopes_open_their_endpoints(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    grant(frozenset({scopes.WORKSPACE_READ, scopes.CONTACTS_WRITE}))
    key = token(world.a.admin.personal)
    assert (await client.get("/api/v2/workspace.json", headers=key)).status_code == 200
    assert (await client.get("/api/v2/users.json", headers=key)).status_code == 200
    created = await client.post("/api/v2/contacts.json", headers=key, json={"name": "Ann"})
    assert created.status_code == 201, created.text
    # a write grant is not a read grant
    names_scope(await client.get("/api/v2/contacts.json", headers=key), scopes.CONTACTS_READ)


async def test_empty_grant_opens_nothing(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    grant(frozenset())
    key = token(world.a.admin.personal)
    names_scope(await client.get("/api/v2/contacts.json", headers=key), scopes.CONTACTS_READ)
    names_scope(await client.get("/api/v2/workspace.json", headers=key), scopes.WORKSPACE_READ)
    names_scope(
        await client.get("/api/v3/webhooks", headers=bearer(world.a.admin.personal_v3)),
        scopes.WEBHOOKS_MANAGE,
    )


async def test_role_still_limits_an_oauth_token(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    """A viewer who (somehow) holds a contacts:write grant still cannot write: the role's
    scopes are intersected with the grant on every request."""
    grant(frozenset(scopes.ALL))
    viewer = token(world.a.viewer.personal)
    assert (await client.get("/api/v2/contacts.json", headers=viewer)).status_code == 200
    response = await client.post("/api/v2/contacts.json", headers=viewer, json={"name": "Ann"})
    assert response.status_code == 403


async def test_oauth_never_reaches_another_workspace(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    grant(frozenset(scopes.ALL))
    response = await client.get("/api/v2/workspace.json", headers=token(world.a.admin.personal))
    assert response.json()["uuid"] == world.a.uuid


# -- v3 --------------------------------------------------------------------------------------


async def test_v3_webhooks_and_custom_data_need_webhooks_manage(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    key = bearer(world.a.admin.personal_v3)
    grant(frozenset({scopes.CONTACTS_READ, scopes.CONTACTS_WRITE, scopes.WORKSPACE_READ}))
    for method, path in (
        ("GET", "/api/v3/webhooks"),
        ("POST", "/api/v3/webhooks"),
        ("GET", f"/api/v3/webhooks/{uuid.uuid4()}"),
        ("GET", f"/api/v3/messages/msg_{uuid.uuid4().hex}"),
        ("GET", f"/api/v3/custom_data/contact/{uuid.uuid4()}"),
        ("PUT", f"/api/v3/custom_data/contact/{uuid.uuid4()}"),
    ):
        response = await client.request(method, path, headers=key, json={})
        names_scope(response, scopes.WEBHOOKS_MANAGE)
        assert response.json()["error"] == "forbidden"  # the v3 error shape
    grant(frozenset({scopes.WEBHOOKS_MANAGE}))
    response = await client.get("/api/v3/webhooks", headers=key)
    assert response.status_code == 200, response.text
    response = await client.get(f"/api/v3/custom_data/contact/{uuid.uuid4()}", headers=key)
    assert response.status_code == 404  # past the scope check: no such contact


async def test_v3_usage_needs_workspace_read(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    key = bearer(world.a.admin.personal_v3)
    grant(READ_ONLY)
    names_scope(await client.get("/api/v3/usage", headers=key), scopes.WORKSPACE_READ)
    grant(frozenset({scopes.WORKSPACE_READ}))
    assert (await client.get("/api/v3/usage", headers=key)).status_code == 200


async def test_oauth_tokens_cannot_manage_api_keys(
    client: httpx.AsyncClient, world: World, grant: Callable[[frozenset[str]], None]
) -> None:
    key = bearer(world.a.admin.personal_v3)
    grant(frozenset(scopes.ALL))  # whatever was granted
    for method, path in (
        ("GET", "/api/v3/tokens"),
        ("POST", "/api/v3/tokens"),
        ("DELETE", f"/api/v3/tokens/{world.a.admin.personal_id}"),
    ):
        response = await client.request(method, path, headers=key, json={})
        assert response.status_code == 403, (method, response.text)
        assert response.json()["detail"] == scopes.API_KEYS_ONLY
    assert (
        await client.get("/api/v2/contacts.json", headers=token(world.a.admin.personal))
    ).status_code == 200


async def test_missing_credentials_are_still_401_on_v3(client: httpx.AsyncClient) -> None:
    """The scope dependency runs after authentication: no key is 401, not 403."""
    for path in ("/api/v3/webhooks", "/api/v3/usage", "/api/v3/tokens"):
        assert (await client.get(path)).status_code == 401


# -- API keys are unaffected -----------------------------------------------------------------


async def test_api_keys_of_every_role_keep_what_they_could_do(
    client: httpx.AsyncClient, world: World
) -> None:
    for account in (world.a.admin, world.a.editor, world.a.viewer):
        v2, v3 = token(account.personal), bearer(account.personal_v3)
        for path in ("/api/v2/workspace.json", "/api/v2/users.json", "/api/v2/contacts.json"):
            assert (await client.get(path, headers=v2)).status_code == 200, (account.role, path)
        for path in ("/api/v3/webhooks", "/api/v3/usage", "/api/v3/tokens"):
            assert (await client.get(path, headers=v3)).status_code == 200, (account.role, path)
    editor_write = await client.post(
        "/api/v2/contacts.json", headers=token(world.a.editor.personal), json={"name": "Ann"}
    )
    assert editor_write.status_code == 201
    viewer_write = await client.post(
        "/api/v2/contacts.json", headers=token(world.a.viewer.personal), json={"name": "Bo"}
    )
    assert viewer_write.status_code == 403
    assert viewer_write.json() == {
        "detail": "You do not have permission to perform this action."
    }  # the role's message, as before
    # company keys too
    assert (
        await client.post("/api/v3/tokens", headers=bearer(world.a.company_v3), json={"name": "x"})
    ).status_code == 201


def _principal(role: Role, granted: frozenset[str] | None = None) -> Principal:
    return Principal(
        workspace_id=1,
        workspace_uuid="w",
        plan="standard",
        user_id=1,
        user_uuid="u",
        user_email="u@example.com",
        role=role,
        token_id=None,
        token_kind=TokenKind.PERSONAL,
        api_version="v3",
        credential="api_key" if granted is None else "oauth",
        granted=granted,
    )


def test_role_scopes() -> None:
    assert set(scopes.for_role(Role.ADMINISTRATOR)) == set(scopes.ALL)
    for role in Role:
        # every role reads everything and may use the webhooks API (reads; changes need an
        # administrator, checked by the webhooks service)
        assert {s for s in scopes.ALL if s.endswith(":read")} <= scopes.for_role(role)
        assert scopes.WEBHOOKS_MANAGE in scopes.for_role(role)
    viewer = scopes.for_role(Role.VIEWER)
    assert not {s for s in viewer if s.endswith(":write")}
    assert not {
        s for s in _principal(Role.VIEWER, frozenset(scopes.ALL)).api_scopes if s.endswith(":write")
    }
    for role in (Role.EDITOR, Role.AGENT):
        assert {s for s in scopes.ALL if s.endswith(":write")} <= scopes.for_role(role)


def test_principal_allows() -> None:
    key = _principal(Role.EDITOR)
    assert key.allows(scopes.CONTACTS_WRITE)
    assert not scopes.is_oauth(key)
    scopes.require_api_key(key)
    oauth = _principal(Role.EDITOR, READ_ONLY)
    assert oauth.allows(scopes.CONTACTS_READ)
    assert not oauth.allows(scopes.CONTACTS_WRITE)
    assert not oauth.allows(scopes.WORKSPACE_READ)
    assert scopes.is_oauth(oauth)
    with pytest.raises(Exception, match="contacts:write"):
        scopes.require(oauth, scopes.CONTACTS_WRITE)
    with pytest.raises(Exception, match="OAuth"):
        scopes.require_api_key(oauth)


# -- declarations ----------------------------------------------------------------------------


def test_every_v2_endpoint_declares_its_scopes() -> None:
    for endpoint in V2_ENDPOINTS:
        methods = set(endpoint.operations)
        if "GET" in methods:
            assert endpoint.read_scope in scopes.ALL, endpoint.doc.slug
        if methods - {"GET", "HEAD"}:
            assert endpoint.write_scope in scopes.ALL, endpoint.doc.slug
    by_slug = {e.doc.slug: e for e in V2_ENDPOINTS}
    assert by_slug["workspace"].read_scope == scopes.WORKSPACE_READ
    assert by_slug["users"].read_scope == scopes.WORKSPACE_READ
    for slug in ("contacts", "groups", "fields", "labels", "globals"):
        assert by_slug[slug].read_scope == scopes.CONTACTS_READ
        assert by_slug[slug].write_scope == scopes.CONTACTS_WRITE
    assert by_slug["contact_actions"].write_scope == scopes.CONTACTS_WRITE


def test_every_v3_router_has_a_scope_dependency() -> None:
    for router in (webhooks_router, custom_data_router, usage_router, tokens_router):
        assert router.routes
        for route in router.routes:
            names = {getattr(d.dependency, "__name__", "") for d in route.dependencies}
            assert names & {
                "requires_webhooks_manage",
                "requires_workspace_read",
                "_api_key_only",
            }, route


async def test_openapi_names_the_v2_scopes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ops = spec["paths"]["/api/v2/contacts.json"]
    assert "OAuth scope: `contacts:read`" in ops["get"]["description"]
    assert "OAuth scope: `contacts:write`" in ops["post"]["description"]


# -- a real OAuth access token ---------------------------------------------------------------


async def test_real_oauth_access_token(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    """End to end through the authenticator: an ``rdo_`` token granted contacts:read."""
    user_id = (
        await session.execute(select(User.id).where(User.email == world.a.editor.email))
    ).scalar_one()
    oauth_client = OAuthClient(
        client_id=secrets.token_hex(8),
        workspace_id=world.a.id,
        name="Test app",
        redirect_uris=["https://app.example.com/cb"],
    )
    session.add(oauth_client)
    await session.flush()
    access = "rdo_" + secrets.token_urlsafe(32)
    session.add(
        OAuthToken(
            access_token_hash=keys.digest(access),
            family_id=str(uuid.uuid4()),
            client_id=oauth_client.id,
            user_id=user_id,
            workspace_id=world.a.id,
            scope="contacts:read",
            expires_on=utcnow() + timedelta(hours=1),
        )
    )
    await session.commit()
    key = bearer(access)
    assert (await client.get("/api/v2/contacts.json", headers=key)).status_code == 200
    names_scope(await client.get("/api/v2/workspace.json", headers=key), scopes.WORKSPACE_READ)
    names_scope(
        await client.post("/api/v2/contacts.json", headers=key, json={"name": "Ann"}),
        scopes.CONTACTS_WRITE,
    )
    names_scope(await client.get("/api/v3/webhooks", headers=key), scopes.WEBHOOKS_MANAGE)
    response = await client.get("/api/v3/tokens", headers=key)
    assert response.status_code == 403
