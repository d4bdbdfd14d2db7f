"""Helpers for the OAuth provider tests: sign in through the portal form, register clients
through the v3 API, walk the consent page like a browser."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.passwords import hash_password
from relaydesk.models import User
from tests.conftest import World

PASSWORD = "correct horse battery"
CALLBACK = "http://127.0.0.1:8765/callback"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The in-process app's base URL is http://testserver (not loopback): tests only."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    return


@pytest.fixture
async def passwords(world: World, session: AsyncSession) -> World:
    """Every user of the world can sign in with PASSWORD."""
    await session.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    await session.commit()
    return world


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    assert response.status_code == 303, response.text


async def register(client: httpx.AsyncClient, key: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Test app", "redirect_uris": [CALLBACK], **fields}
    response = await client.post(
        "/api/v3/oauth-clients", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def authorize_url(client_id: str, **params: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK}
    query.update(params)
    return "/oauth/authorize?" + urlencode(query)


async def consent(
    client: httpx.AsyncClient, url: str, confirm: str = "yes", **extra: str
) -> httpx.Response:
    """GET the consent page, then post its form (CSRF field included) with ``confirm``."""
    page = await client.get(url)
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    assert 'name="confirm" value="yes"' in page.text
    assert 'name="confirm" value="no"' in page.text
    return await client.post(url, data={"csrf_token": match.group(1), "confirm": confirm, **extra})


def location_params(response: httpx.Response, *, fragment: bool = False) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK), location
    parts = urlsplit(location)
    raw = parts.fragment if fragment else parts.query
    return {k: v[0] for k, v in parse_qs(raw).items()}


@dataclass
class Grant:
    code: str
    verifier: str


async def get_code(
    client: httpx.AsyncClient, client_id: str, scope: str | None = None, state: str = "st4te"
) -> Grant:
    verifier, challenge = pkce()
    params = {"state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    if scope is not None:
        params["scope"] = scope
    response = await consent(client, authorize_url(client_id, **params))
    got = location_params(response)
    assert got["state"] == state
    return Grant(got["code"], verifier)


async def exchange(
    client: httpx.AsyncClient,
    app_client: dict[str, Any],
    grant: Grant,
    **overrides: str,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": grant.code,
        "redirect_uri": CALLBACK,
        "code_verifier": grant.verifier,
        "client_id": app_client["client_id"],
    }
    if app_client.get("client_secret"):
        data["client_secret"] = app_client["client_secret"]
    data.update(overrides)
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v != ""})


async def refresh(
    client: httpx.AsyncClient, app_client: dict[str, Any], refresh_token: str, **extra: str
) -> httpx.Response:
    auth = (app_client["client_id"], app_client["client_secret"])
    return await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        auth=auth,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
