"""Acceptance: unmodified OAuth client libraries against a real ``relaydesk serve`` process on
loopback, on SQLite and on PostgreSQL. A browser is played by an httpx client that signs in
and consents by posting the HTML forms; the redirect back to the client is read from the
``Location`` header (nothing listens on the callback port)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from requests_oauthlib import OAuth2Session

from tests.test_e2e_serve import cli, cli_json, free_port, fresh_database, server

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Live:
    base: str
    env: dict[str, str]
    workspace: str
    email: str
    callback: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp_path = tmp_path_factory.mktemp(f"oauth_{request.param}")
    saved = {
        k: os.environ.get(k) for k in ("AUTHLIB_INSECURE_TRANSPORT", "OAUTHLIB_INSECURE_TRANSPORT")
    }
    # tests only: the clients refuse plain http (the server accepts loopback by itself)
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        with ExitStack() as stack:
            env = stack.enter_context(fresh_database(str(request.param), tmp_path))
            # the server process must not inherit the test-only switch
            serve_env = {**env, "AUTHLIB_INSECURE_TRANSPORT": ""}
            base, _out, _log = stack.enter_context(server(serve_env, tmp_path))
            workspace = cli_json(env, "workspace", "create", "Acme")
            assert isinstance(workspace, dict)
            email = "owner@acme.example"
            cli_json(
                env,
                "user",
                "create",
                email,
                "--workspace",
                str(workspace["uuid"]),
                "--role",
                "administrator",
                "--password",
                PASSWORD,
            )
            callback = f"http://127.0.0.1:{free_port()}/callback"
            yield Live(base, env, str(workspace["uuid"]), email, callback)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def new_client(live: Live, *options: str) -> dict[str, Any]:
    created = cli_json(
        live.env,
        "oauth-client",
        "create",
        "--workspace",
        live.workspace,
        "--name",
        "Live test app",
        "--redirect-uri",
        live.callback,
        *options,
    )
    assert isinstance(created, dict)
    return created


def browser(live: Live) -> httpx.Client:
    """A signed-in user agent (its own cookie jar)."""
    agent = httpx.Client(base_url=live.base, timeout=10)
    page = agent.get("/login")
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    signed_in = agent.post(
        "/login", data={"email": live.email, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    assert signed_in.status_code == 303, signed_in.text
    return agent


def consent(agent: httpx.Client, authorization_url: str, confirm: str = "yes") -> str:
    """Open the authorization URL, post the consent form; the Location sent back."""
    page = agent.get(authorization_url)
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    answer = agent.post(authorization_url, data={"csrf_token": match.group(1), "confirm": confirm})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def test_authlib_code_flow_pkce_refresh_and_reuse(live: Live) -> None:
    registered = new_client(live)
    token_url = f"{live.base}/oauth/token"
    oauth = OAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        redirect_uri=live.callback,
        scope="workspace:read contacts:read",
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(
        f"{live.base}/oauth/authorize", code_verifier=verifier
    )
    with closing(browser(live)) as agent:
        location = consent(agent, url)
    assert location.startswith(live.callback)
    assert f"state={state}" in location
    token = oauth.fetch_token(token_url, authorization_response=location, code_verifier=verifier)
    assert token["access_token"].startswith("rdo_")
    assert token["scope"] == "workspace:read contacts:read"

    ws = oauth.get(f"{live.base}/api/v2/workspace.json")
    assert ws.status_code == 200, ws.text
    assert ws.json()["uuid"] == live.workspace

    old_refresh = token["refresh_token"]
    renewed = oauth.refresh_token(token_url)
    assert renewed["refresh_token"] != old_refresh
    assert oauth.get(f"{live.base}/api/v2/workspace.json").status_code == 200

    # someone replays the rotated refresh token: the whole family is revoked
    replay = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    denied = httpx.get(
        f"{live.base}/api/v2/workspace.json",
        headers={"Authorization": f"Bearer {renewed['access_token']}"},
    )
    assert denied.status_code == 403  # v2 renders authentication failures as 403
    v3 = httpx.get(
        f"{live.base}/api/v3/webhooks",
        headers={"Authorization": f"Bearer {renewed['access_token']}"},
    )
    assert v3.status_code == 401
    again = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]},
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert again.json()["error"] == "invalid_grant"


def test_authlib_public_client(live: Live) -> None:
    registered = new_client(live, "--public")
    assert registered["client_secret"] is None
    oauth = OAuth2Client(
        client_id=registered["client_id"],
        redirect_uri=live.callback,
        scope="workspace:read",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = oauth.create_authorization_url(
        f"{live.base}/oauth/authorize", code_verifier=verifier
    )
    with closing(browser(live)) as agent:
        location = consent(agent, url)
    token = oauth.fetch_token(
        f"{live.base}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    assert oauth.get(f"{live.base}/api/v2/workspace.json").status_code == 200
    revoked = oauth.revoke_token(f"{live.base}/oauth/revoke", token["access_token"])
    assert revoked.status_code == 200
    assert oauth.get(f"{live.base}/api/v2/workspace.json").status_code == 403


def test_requests_oauthlib_code_flow(live: Live) -> None:
    registered = new_client(live)
    oauth = OAuth2Session(
        registered["client_id"],
        redirect_uri=live.callback,
        scope=["workspace:read"],
        pkce="S256",
    )
    url, _state = oauth.authorization_url(f"{live.base}/oauth/authorize")
    with closing(browser(live)) as agent:
        location = consent(agent, url)
    token = oauth.fetch_token(
        f"{live.base}/oauth/token",
        authorization_response=location,
        client_secret=registered["client_secret"],
    )
    assert token["token_type"] == "Bearer"
    response = oauth.get(f"{live.base}/api/v2/workspace.json")
    assert response.status_code == 200, response.text

    introspected = httpx.post(
        f"{live.base}/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(registered["client_id"], registered["client_secret"]),
    ).json()
    assert introspected["active"] is True
    assert introspected["scope"] == "workspace:read"


def test_implicit_and_metadata(live: Live) -> None:
    opted = new_client(live, "--public", "--allow-implicit")
    plain = new_client(live, "--public")
    with closing(browser(live)) as agent:
        for registered, allowed in ((opted, True), (plain, False)):
            query = httpx.QueryParams(
                {
                    "response_type": "token",
                    "client_id": registered["client_id"],
                    "redirect_uri": live.callback,
                    "state": "s1",
                }
            )
            url = f"{live.base}/oauth/authorize?{query}"
            if allowed:
                location = consent(agent, url)
                fragment = dict(httpx.QueryParams(location.split("#", 1)[1]))
                assert fragment["state"] == "s1"
                assert "refresh_token" not in fragment
                assert int(fragment["expires_in"]) <= 3600
                ws = httpx.get(
                    f"{live.base}/api/v2/workspace.json",
                    headers={"Authorization": f"Bearer {fragment['access_token']}"},
                )
                assert ws.status_code == 200
            else:
                refused = agent.get(url)
                assert refused.status_code == 302
                fragment = dict(httpx.QueryParams(refused.headers["location"].split("#", 1)[1]))
                assert fragment["error"] == "unauthorized_client"
                assert "access_token" not in fragment

    meta = httpx.get(f"{live.base}/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == live.base
    assert meta["token_endpoint"] == f"{live.base}/oauth/token"
    assert meta["authorization_endpoint"] == f"{live.base}/oauth/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    for key in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        answer = httpx.post(meta[key], data={})
        assert answer.status_code in (400, 401)  # there, and speaking RFC errors
        assert "error" in answer.json()


def test_cli_list_and_delete(live: Live) -> None:
    registered = new_client(live)
    listed = cli_json(live.env, "oauth-client", "list", "--workspace", live.workspace)
    assert isinstance(listed, list)
    assert registered["client_id"] in [c["client_id"] for c in listed]
    assert all("client_secret" not in c for c in listed)
    cli(live.env, "oauth-client", "delete", "--workspace", live.workspace, registered["client_id"])
    listed = cli_json(live.env, "oauth-client", "list", "--workspace", live.workspace)
    assert isinstance(listed, list)
    assert registered["client_id"] not in [c["client_id"] for c in listed]
    gone = httpx.post(
        f"{live.base}/oauth/token",
        data={"grant_type": "authorization_code", "code": "x"},
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert gone.status_code == 401
    assert gone.json()["error"] == "invalid_client"
