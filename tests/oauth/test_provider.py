"""The OAuth 2.0 provider in process (httpx ASGI client), on SQLite and PostgreSQL: client
registration, the code flow with PKCE, refresh rotation and reuse detection, the implicit
grant, revocation, introspection, metadata, and the RFC 9700 negative cases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth import keys, scopes
from relaydesk.kit.time import utcnow
from relaydesk.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken
from tests.conftest import World
from tests.oauth.conftest import (
    CALLBACK,
    authorize_url,
    bearer,
    consent,
    exchange,
    get_code,
    location_params,
    pkce,
    refresh,
    register,
    sign_in,
)

WORKSPACE = "/api/v2/workspace.json"


async def tokens_for(
    client: httpx.AsyncClient, world: World, scope: str | None = None, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(registered client, token response) for world A's administrator."""
    app_client = await register(client, world.a.company_v3, **fields)
    await sign_in(client, world.a.admin.email)
    grant = await get_code(client, app_client["client_id"], scope)
    response = await exchange(client, app_client, grant)
    assert response.status_code == 200, response.text
    return app_client, response.json()


async def works(client: httpx.AsyncClient, access_token: str) -> bool:
    response = await client.get(WORKSPACE, headers=bearer(access_token))
    assert response.status_code in (200, 403), response.text  # v2 renders 401 as 403
    return response.status_code == 200


# -- client registration ----------------------------------------------------------------------


async def test_clients_api(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    admin = bearer(world.a.company_v3)
    created = await register(client, world.a.company_v3, name="CRM sync")
    assert created["client_id"].startswith("rdc_")
    assert created["client_secret"].startswith("rdcs_")
    assert created["public"] is False
    assert created["allow_implicit"] is False
    assert created["workspace"] == world.a.uuid
    public = await register(client, world.a.admin.personal_v3, public=True, allow_implicit=True)
    assert public["client_secret"] is None

    listed = (await client.get("/api/v3/oauth-clients", headers=admin)).json()
    assert [c["client_id"] for c in listed] == [public["client_id"], created["client_id"]]
    assert all("client_secret" not in c for c in listed)
    one = await client.get(f"/api/v3/oauth-clients/{created['client_id']}", headers=admin)
    assert one.status_code == 200
    assert one.json()["name"] == "CRM sync"

    # the secret is stored hashed only
    row = (
        await session.execute(
            select(OAuthClient).where(OAuthClient.client_id == created["client_id"])
        )
    ).scalar_one()
    assert row.secret_hash == keys.digest(created["client_secret"])

    # administrators only; another workspace sees nothing
    viewer = bearer(world.a.viewer.personal_v3)
    assert (await client.get("/api/v3/oauth-clients", headers=viewer)).status_code == 403
    denied = await client.post(
        "/api/v3/oauth-clients",
        json={"name": "x", "redirect_uris": [CALLBACK]},
        headers=bearer(world.a.editor.personal_v3),
    )
    assert denied.status_code == 403
    assert denied.json()["error"] == "forbidden"
    other = bearer(world.b.company_v3)
    assert (await client.get("/api/v3/oauth-clients", headers=other)).json() == []
    path = f"/api/v3/oauth-clients/{created['client_id']}"
    assert (await client.get(path, headers=other)).status_code == 404
    assert (await client.delete(path, headers=other)).status_code == 404
    assert (
        await client.get("/api/v3/oauth-clients", headers=bearer(world.a.company))
    ).status_code == 401

    # redirect URIs: https, or http on loopback only; no fragments; unknown fields refused
    for uri in ("http://example.com/cb", "https://example.com/cb#x", "not a uri", "/relative"):
        bad = await client.post(
            "/api/v3/oauth-clients", json={"name": "x", "redirect_uris": [uri]}, headers=admin
        )
        assert bad.status_code == 400, uri
        assert "redirect_uris.0" in bad.json()["errors"]
    extra = await client.post(
        "/api/v3/oauth-clients",
        json={"name": "x", "redirect_uris": [CALLBACK], "secret": "mine"},
        headers=admin,
    )
    assert extra.status_code == 400

    assert (await client.delete(path, headers=admin)).status_code == 204
    assert (await client.get(path, headers=admin)).status_code == 404


# -- authorization code + PKCE ----------------------------------------------------------------


async def test_code_flow_pkce(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    app_client, token = await tokens_for(client, passwords, "workspace:read contacts:read")
    assert token["token_type"] == "Bearer"
    assert token["access_token"].startswith("rdo_")
    assert token["refresh_token"].startswith("rdr_")
    assert 0 < token["expires_in"] <= 3600
    assert token["scope"] == "workspace:read contacts:read"

    # the token acts as the user, on v2 and v3, with rate limits like any token
    ws = await client.get(WORKSPACE, headers=bearer(token["access_token"]))
    assert ws.status_code == 200
    assert ws.json()["uuid"] == passwords.a.uuid
    assert "x-ratelimit-limit" in {k.lower() for k in ws.headers}
    also = await client.get(WORKSPACE, headers={"Authorization": f"Token {token['access_token']}"})
    assert also.status_code == 200
    v3 = await client.get("/api/v3/webhooks", headers=bearer(token["access_token"]))
    assert v3.status_code in (200, 403), v3.text  # authenticated (scopes decide the rest)
    assert v3.status_code != 401

    # hashed at rest
    row = (await session.execute(select(OAuthToken))).scalar_one()
    assert row.access_token_hash == keys.digest(token["access_token"])
    assert row.refresh_token_hash == keys.digest(token["refresh_token"])
    assert row.scope == "workspace:read contacts:read"

    # the consent page cannot be framed and lists the scopes
    page = await client.get(
        authorize_url(
            app_client["client_id"], code_challenge=pkce()[1], code_challenge_method="S256"
        )
    )
    assert page.headers["x-frame-options"] == "DENY"
    for scope in scopes.ALL:  # no scope named: everything the administrator's role allows
        assert f"<code>{scope}</code>" in page.text


async def test_not_signed_in_goes_to_login(client: httpx.AsyncClient, world: World) -> None:
    app_client = await register(client, world.a.company_v3)
    url = authorize_url(app_client["client_id"], state="s")
    response = await client.get(url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3F")


async def test_consent_denied(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    url = authorize_url(
        app_client["client_id"], state="xyz", code_challenge=pkce()[1], code_challenge_method="S256"
    )
    got = location_params(await consent(client, url, confirm="no"))
    assert got["error"] == "access_denied"
    assert got["state"] == "xyz"
    assert "code" not in got


async def test_consent_without_csrf_is_rejected(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    url = authorize_url(app_client["client_id"], state="xyz")
    await client.get(url)  # the page sets the CSRF cookie
    for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "forged.value"}):
        response = await client.post(url, data=data)
        assert response.status_code == 403
        assert "location" not in response.headers
    assert (await session.execute(select(OAuthAuthorizationCode))).first() is None


async def test_redirect_uri_must_match_exactly(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    for uri in (CALLBACK + "/x", CALLBACK + "?a=1", "http://127.0.0.1:8766/callback"):
        url = authorize_url(app_client["client_id"], redirect_uri=uri, state="s")
        page = await client.get(url)
        assert page.status_code == 400  # an error page: never a redirect to an unknown URI
        assert "location" not in page.headers
        assert "invalid_request" in page.text
    unknown = await client.get(authorize_url("rdc_nope", state="s"))
    assert unknown.status_code == 400
    assert "invalid_client" in unknown.text

    grant = await get_code(client, app_client["client_id"])
    response = await exchange(client, app_client, grant, redirect_uri=CALLBACK + "/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert (await exchange(client, app_client, grant)).status_code == 200  # not burnt


async def test_pkce_verifier_checked(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    grant = await get_code(client, app_client["client_id"])
    missing = await exchange(client, app_client, grant, code_verifier="")
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    wrong = await exchange(client, app_client, grant, code_verifier=pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert (await exchange(client, app_client, grant)).status_code == 200

    # PKCE stays optional for confidential clients...
    response = await consent(client, authorize_url(app_client["client_id"], state="s"))
    code = location_params(response)["code"]
    plain = await exchange(client, app_client, type(grant)(code, ""), code_verifier="")
    assert plain.status_code == 200, plain.text
    # ...but only S256 is accepted
    url = authorize_url(
        app_client["client_id"], state="s", code_challenge=pkce()[1], code_challenge_method="plain"
    )
    got = location_params(await client.get(url))
    assert got["error"] == "invalid_request"
    assert got["state"] == "s"


async def test_public_client_must_use_pkce(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3, public=True)
    await sign_in(client, passwords.a.admin.email)
    got = location_params(await client.get(authorize_url(app_client["client_id"], state="s")))
    assert got["error"] == "invalid_request"
    assert got["state"] == "s"
    grant = await get_code(client, app_client["client_id"])
    missing = await exchange(client, app_client, grant, code_verifier="")
    assert missing.json()["error"] == "invalid_request"
    ok = await exchange(client, app_client, grant)  # no secret: client_id + verifier
    assert ok.status_code == 200, ok.text
    # a public client cannot pass itself off with a made-up secret
    again = await get_code(client, app_client["client_id"])
    faked = await exchange(client, app_client, again, client_secret="rdcs_guess")
    assert faked.status_code in (400, 401)
    assert faked.json()["error"] == "invalid_client"


async def test_code_reuse_revokes_its_tokens(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    grant = await get_code(client, app_client["client_id"])
    first = await exchange(client, app_client, grant)
    assert first.status_code == 200
    token = first.json()
    assert await works(client, token["access_token"])
    second = await exchange(client, app_client, grant)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert not await works(client, token["access_token"])  # RFC 6749 §4.1.2
    refreshed = await refresh(client, app_client, token["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_code_expires_and_belongs_to_its_client(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    app_client = await register(client, passwords.a.company_v3)
    other = await register(client, passwords.a.company_v3, name="Other")
    await sign_in(client, passwords.a.admin.email)
    grant = await get_code(client, app_client["client_id"])
    stolen = await exchange(client, other, grant)
    assert stolen.json()["error"] == "invalid_grant"
    await session.execute(
        update(OAuthAuthorizationCode).values(expires_on=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    expired = await exchange(client, app_client, grant)
    assert expired.json()["error"] == "invalid_grant"


async def test_wrong_client_secret(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    grant = await get_code(client, app_client["client_id"])
    body = {
        "grant_type": "authorization_code",
        "code": grant.code,
        "redirect_uri": CALLBACK,
        "code_verifier": grant.verifier,
    }
    basic = await client.post(
        "/oauth/token", data=body, auth=(app_client["client_id"], "rdcs_wrong")
    )
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"
    post = await exchange(client, app_client, grant, client_secret="rdcs_wrong")
    assert post.status_code in (400, 401)
    assert post.json()["error"] == "invalid_client"
    none = await exchange(client, app_client, grant, client_secret="")
    assert none.json()["error"] == "invalid_client"  # confidential: must authenticate
    ok = await client.post(
        "/oauth/token", data=body, auth=(app_client["client_id"], app_client["client_secret"])
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["cache-control"] == "no-store"
    assert (await client.post("/oauth/token", data={"grant_type": "password"})).json()[
        "error"
    ] == "unsupported_grant_type"
    wrong_type = await client.post("/oauth/token", json={"grant_type": "authorization_code"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"] == "invalid_request"


# -- scopes -----------------------------------------------------------------------------------


async def test_scopes_follow_the_role(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.viewer.email)
    grant = await get_code(client, app_client["client_id"], "contacts:read contacts:write")
    token = (await exchange(client, app_client, grant)).json()
    assert token["scope"] == "contacts:read"  # a viewer cannot grant writes
    url = authorize_url(app_client["client_id"], scope="contacts:write", state="s")
    got = location_params(await client.get(url))
    assert got["error"] == "invalid_scope"
    assert got["state"] == "s"
    unknown = location_params(
        await client.get(authorize_url(app_client["client_id"], scope="root", state="s"))
    )
    assert unknown["error"] == "invalid_scope"


async def test_user_must_be_a_member(client: httpx.AsyncClient, passwords: World) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.b.admin.email)  # workspace B's administrator
    got = location_params(await client.get(authorize_url(app_client["client_id"], state="s")))
    assert got["error"] == "access_denied"
    assert got["state"] == "s"


# -- refresh: rotation, narrowing, reuse detection --------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: httpx.AsyncClient, passwords: World
) -> None:
    app_client, first = await tokens_for(client, passwords, "workspace:read contacts:read")
    second_response = await refresh(client, app_client, first["refresh_token"])
    assert second_response.status_code == 200, second_response.text
    second = second_response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "workspace:read contacts:read"
    assert await works(client, second["access_token"])

    # narrowing is allowed, widening is not
    third = (
        await refresh(client, app_client, second["refresh_token"], scope="workspace:read")
    ).json()
    assert third["scope"] == "workspace:read"
    escalate = await refresh(
        client, app_client, third["refresh_token"], scope="workspace:read contacts:write"
    )
    assert escalate.status_code == 400
    assert escalate.json()["error"] == "invalid_scope"
    assert await works(client, third["access_token"])  # a refused widening revokes nothing

    # the old refresh token again: someone has a copy; the whole family goes
    reused = await refresh(client, app_client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert not await works(client, third["access_token"])
    assert (await refresh(client, app_client, third["refresh_token"])).json()[
        "error"
    ] == "invalid_grant"


async def test_refresh_token_belongs_to_its_client(
    client: httpx.AsyncClient, passwords: World
) -> None:
    app_client, token = await tokens_for(client, passwords)
    other = await register(client, passwords.a.company_v3, name="Other")
    stolen = await refresh(client, other, token["refresh_token"])
    assert stolen.json()["error"] == "invalid_grant"
    assert (await refresh(client, app_client, "rdr_made-up")).json()["error"] == "invalid_grant"


# -- implicit ---------------------------------------------------------------------------------


async def test_implicit_only_for_opted_in_clients(
    client: httpx.AsyncClient, passwords: World
) -> None:
    opted = await register(client, passwords.a.company_v3, public=True, allow_implicit=True)
    plain = await register(client, passwords.a.company_v3, public=True)
    await sign_in(client, passwords.a.admin.email)

    url = authorize_url(
        opted["client_id"], response_type="token", state="s", scope="workspace:read"
    )
    response = await consent(client, url)
    assert "?" not in response.headers["location"]  # nothing in the query
    got = location_params(response, fragment=True)
    assert got["token_type"] == "Bearer"
    assert got["state"] == "s"
    assert got["scope"] == "workspace:read"
    assert 0 < int(got["expires_in"]) <= 3600
    assert "refresh_token" not in got
    assert await works(client, got["access_token"])

    refused = await client.get(authorize_url(plain["client_id"], response_type="token", state="s"))
    got = location_params(refused, fragment=True)
    assert got["error"] == "unauthorized_client"
    assert "access_token" not in got

    denied = await consent(client, url, confirm="no")
    assert location_params(denied, fragment=True)["error"] == "access_denied"


# -- revocation and introspection -------------------------------------------------------------


async def test_revoke(client: httpx.AsyncClient, passwords: World) -> None:
    app_client, token = await tokens_for(client, passwords)
    auth = (app_client["client_id"], app_client["client_secret"])
    unknown = await client.post("/oauth/revoke", data={"token": "rdo_unknown"}, auth=auth)
    assert unknown.status_code == 200
    garbage = await client.post("/oauth/revoke", data={"token": "whatever"}, auth=auth)
    assert garbage.status_code == 200
    unauthenticated = await client.post(
        "/oauth/revoke", data={"token": token["access_token"], "client_id": app_client["client_id"]}
    )
    assert unauthenticated.json()["error"] == "invalid_client"
    assert await works(client, token["access_token"])

    revoked = await client.post(
        "/oauth/revoke",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    )
    assert revoked.status_code == 200
    assert not await works(client, token["access_token"])  # revoking ends the grant
    assert (await refresh(client, app_client, token["refresh_token"])).json()[
        "error"
    ] == "invalid_grant"


async def test_public_client_revokes_with_its_id(
    client: httpx.AsyncClient, passwords: World
) -> None:
    app_client = await register(client, passwords.a.company_v3, public=True)
    await sign_in(client, passwords.a.admin.email)
    token = (
        await exchange(client, app_client, await get_code(client, app_client["client_id"]))
    ).json()
    response = await client.post(
        "/oauth/revoke", data={"token": token["access_token"], "client_id": app_client["client_id"]}
    )
    assert response.status_code == 200
    assert not await works(client, token["access_token"])


async def test_introspect(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    app_client, token = await tokens_for(client, passwords, "workspace:read")
    auth = (app_client["client_id"], app_client["client_secret"])

    async def introspect(value: str, **kw: Any) -> dict[str, Any]:
        response = await client.post("/oauth/introspect", data={"token": value}, **kw)
        assert response.status_code in (200, 401), response.text
        body: dict[str, Any] = response.json()
        return body

    active = await introspect(token["access_token"], auth=auth)
    assert active["active"] is True
    assert active["scope"] == "workspace:read"
    assert active["client_id"] == app_client["client_id"]
    assert active["token_type"] == "Bearer"
    assert active["iss"] == "http://testserver"
    assert active["exp"] > active["iat"]
    assert active["username"] == passwords.a.admin.email
    assert (await introspect(token["refresh_token"], auth=auth))["active"] is True
    assert await introspect("rdo_unknown", auth=auth) == {"active": False}

    # client authentication required; another client learns nothing
    assert (await introspect(token["access_token"]))["error"] == "invalid_client"
    other = await register(client, passwords.a.company_v3, name="Other")
    assert await introspect(
        token["access_token"], auth=(other["client_id"], other["client_secret"])
    ) == {"active": False}

    await session.execute(update(OAuthToken).values(expires_on=utcnow() - timedelta(seconds=1)))
    await session.commit()
    assert await introspect(token["access_token"], auth=auth) == {"active": False}
    assert not await works(client, token["access_token"])  # expired: refused too

    await client.post("/oauth/revoke", data={"token": token["refresh_token"]}, auth=auth)
    assert await introspect(token["refresh_token"], auth=auth) == {"active": False}


async def test_deleting_the_client_revokes_its_tokens(
    client: httpx.AsyncClient, passwords: World
) -> None:
    app_client, token = await tokens_for(client, passwords)
    assert await works(client, token["access_token"])
    deleted = await client.delete(
        f"/api/v3/oauth-clients/{app_client['client_id']}", headers=bearer(passwords.a.company_v3)
    )
    assert deleted.status_code == 204
    assert not await works(client, token["access_token"])
    # and an OAuth token never manages clients
    _, other = await tokens_for(client, passwords)
    listing = await client.get("/api/v3/oauth-clients", headers=bearer(other["access_token"]))
    assert listing.status_code == 403


# -- metadata ---------------------------------------------------------------------------------


async def test_metadata(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    data = response.json()
    assert data["issuer"] == "http://testserver"
    for name, path in (
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
    ):
        assert data[name] == "http://testserver" + path
    assert data["scopes_supported"] == list(scopes.ALL)
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert set(data["grant_types_supported"]) == {"authorization_code", "refresh_token", "implicit"}
    assert "password" not in data["grant_types_supported"]
    assert set(data["response_types_supported"]) == {"code", "token"}
    AuthorizationServerMetadata(data).validate()
    # the endpoints answer where the metadata says
    token = await client.post("/oauth/token", data={"grant_type": "authorization_code"})
    assert token.json()["error"] == "invalid_client"


async def test_concurrent_code_exchanges_issue_one_token(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    app_client = await register(client, passwords.a.company_v3)
    await sign_in(client, passwords.a.admin.email)
    grant = await get_code(client, app_client["client_id"])
    answers = await asyncio.gather(*(exchange(client, app_client, grant) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]
    winner = next(a for a in answers if a.status_code == 200).json()
    # the losers were replays: what the winner got is revoked too (RFC 6749 §4.1.2)
    assert not await works(client, winner["access_token"])
    rows = (await session.execute(select(OAuthToken))).scalars().all()
    assert len(rows) == 1


async def test_token_is_limited_to_granted_scopes(
    client: httpx.AsyncClient, passwords: World
) -> None:
    _, token = await tokens_for(client, passwords, "contacts:read")
    headers = bearer(token["access_token"])
    assert (await client.get("/api/v2/contacts.json", headers=headers)).status_code == 200
    refused = await client.get(WORKSPACE, headers=headers)  # workspace:read not granted
    assert refused.status_code == 403
    assert "workspace:read" in refused.json()["detail"]
    write = await client.post("/api/v2/contacts.json", json={"name": "Ann"}, headers=headers)
    assert write.status_code == 403
    # the user's API key (same user, same role) may do all of it
    key = bearer(passwords.a.admin.personal)
    assert (await client.get(WORKSPACE, headers=key)).status_code == 200


async def test_plain_http_base_url_is_refused(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RELAYDESK_BASE_URL here is http://testserver: not https, not loopback."""
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT")
    response = await client.post("/oauth/token", data={"grant_type": "authorization_code"})
    assert response.status_code == 400
    assert response.json()["error"] == "insecure_transport"
