"""Authentication on every door, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.users import service as users
from relaydesk.infra import changes
from relaydesk.infra.auth import keys
from relaydesk.kit.time import utcnow
from relaydesk.models import ApiToken
from tests.conftest import World, auth

URL = "/api/v2/workspace.json"


def schemes(token: str) -> dict[str, dict[str, str]]:
    b64 = base64.b64encode
    return {
        "token": {"Authorization": f"Token {token}"},
        "bearer": {"Authorization": f"Bearer {token}"},
        "basic-user": {"Authorization": "Basic " + b64(f"{token}:".encode()).decode()},
        "basic-password": {"Authorization": "Basic " + b64(f"me@x.org:{token}".encode()).decode()},
    }


SCHEMES = ["token", "bearer", "basic-user", "basic-password"]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_valid_token_every_scheme(
    client: httpx.AsyncClient, world: World, scheme: str
) -> None:
    response = await client.get(URL, headers=schemes(world.a.company)[scheme])
    assert response.status_code == 200
    assert response.json()["uuid"] == world.a.uuid


async def test_missing_credentials_is_403_with_detail(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(URL)
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_wrong_token_is_403(client: httpx.AsyncClient, world: World, scheme: str) -> None:
    unknown = keys.generate().plaintext  # well formed, not in the database
    typo = world.a.company[:-1] + ("x" if world.a.company[-1] != "x" else "y")
    for token in (unknown, "garbage", typo):
        response = await client.get(URL, headers=schemes(token)[scheme])
        assert response.status_code == 403, token
        assert response.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Bearer",
        "Basic",
        "Basic %%%",
        "Basic " + base64.b64encode(b"x").decode(),
    ],
)
async def test_malformed_header_is_403(
    client: httpx.AsyncClient, world: World, header: str
) -> None:
    response = await client.get(URL, headers={"Authorization": header})
    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_revoked_token_fails_on_the_next_request(
    client: httpx.AsyncClient, session: AsyncSession, world: World, scheme: str
) -> None:
    headers = schemes(world.a.admin.personal)[scheme]
    assert (await client.get(URL, headers=headers)).status_code == 200  # now cached
    response = await client.delete(
        f"/api/v3/tokens/{world.a.admin.personal_id}",
        headers={"Authorization": f"Bearer {world.a.company_v3}"},
    )
    assert response.status_code == 204
    response = await client.get(URL, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}


async def test_revocation_by_another_connection_is_seen(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, backend: str
) -> None:
    """A change committed outside this process's request path (another process, the CLI)."""
    headers = auth(world.a.viewer.personal)
    assert (await client.get(URL, headers=headers)).status_code == 200
    from sqlalchemy.ext.asyncio import create_async_engine

    other = create_async_engine(app.state.settings.effective_database_url)
    try:
        async with other.begin() as conn:
            await conn.execute(
                update(ApiToken)
                .where(ApiToken.id == world.a.viewer.personal_id)
                .values(deleted_on=utcnow())
            )
            session = AsyncSession(bind=conn)
            await changes.bump(session)
    finally:
        await other.dispose()
    if backend == "postgresql":
        await asyncio.sleep(0.2)  # the NOTIFY travels back to this process's listener
    assert (await client.get(URL, headers=headers)).status_code == 403


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_expired_token_is_403(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World, scheme: str
) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == world.a.editor.personal_id)
        .values(expires_on=utcnow() + timedelta(hours=1))
    )
    await changes.bump(session)
    await session.commit()
    headers = schemes(world.a.editor.personal)[scheme]
    assert (await client.get(URL, headers=headers)).status_code == 200
    authenticator = app.state.authenticator
    authenticator.clock = lambda: utcnow() + timedelta(hours=2)
    try:
        response = await client.get(URL, headers=headers)
    finally:
        authenticator.clock = utcnow
    assert response.status_code == 403
    assert response.json() == {"detail": "Token has expired."}


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_token_of_deleted_user_is_403(
    client: httpx.AsyncClient, session: AsyncSession, world: World, scheme: str
) -> None:
    headers = schemes(world.a.editor.personal)[scheme]
    assert (await client.get(URL, headers=headers)).status_code == 200
    await users.delete(session, world.a.editor.email)
    await session.commit()
    response = await client.get(URL, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "User inactive or deleted."}


async def test_v3_errors_are_401_with_www_authenticate(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get("/api/v3/tokens")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "not_authed"

    response = await client.get("/api/v3/tokens", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json() == {"error": "invalid_auth", "detail": "Invalid token."}

    # a v2 key is not a v3 key
    response = await client.get(
        "/api/v3/tokens", headers={"Authorization": f"Bearer {world.a.company}"}
    )
    assert response.status_code == 401
    assert "v3 API key" in response.json()["detail"]

    response = await client.get(
        "/api/v3/tokens", headers={"Authorization": f"Bearer {world.a.company_v3}"}
    )
    assert response.status_code == 200


async def test_last_used_is_recorded_in_batches(
    app: RelaydeskApp,
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = app.state.authenticator.last_used
    recorded: list[int] = []
    original = recorder.record

    def counting(token_id: int, now: datetime) -> None:
        recorded.append(token_id)
        original(token_id, now)

    monkeypatch.setattr(recorder, "record", counting)
    for _ in range(5):
        assert (await client.get(URL, headers=auth(world.b.company))).status_code == 200
    assert recorded == [world.b.company_id]  # one write queued, not five
    await recorder.flush()
    assert recorder.pending == {}
    used = (
        await session.execute(
            select(ApiToken.last_used_on).where(ApiToken.id == world.b.company_id)
        )
    ).scalar_one()
    assert used is not None
    assert utcnow() - used < timedelta(minutes=1)
    # more requests within the resolution queue nothing
    assert (await client.get(URL, headers=auth(world.b.company))).status_code == 200
    assert recorded == [world.b.company_id]
