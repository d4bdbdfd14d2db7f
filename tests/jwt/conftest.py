"""JWT fixtures: the ``clean`` fixture deletes the signing keys without a change notification,
so each test here also forgets the keys this process cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.models import ApiToken, SigningKey, User
from tests.conftest import World


@pytest.fixture(autouse=True)
async def forget_keys(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if "app" not in request.fixturenames:  # e.g. the CLI and live-server tests
        yield
        return
    app: RelaydeskApp = request.getfixturevalue("app")
    app.state.jwt_keys.clear()
    yield
    app.state.jwt_keys.clear()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def exchange(client: httpx.AsyncClient, api_key: str) -> str:
    response = await client.post("/api/v3/jwts", json={"api_key": api_key})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert isinstance(token, str)
    return token


async def token_id(session: AsyncSession, email: str, name: str) -> int:
    """The id of ``email``'s token called ``name`` (the world's v3 keys are "mine v3", "co v3")."""
    row = (
        await session.execute(
            select(ApiToken.id)
            .join(User, User.id == ApiToken.user_id)
            .where(User.email == email, ApiToken.name == name)
        )
    ).scalar_one()
    return int(row)


@dataclass
class Signer:
    """The server's current signing key, to forge tokens that differ in one respect."""

    kid: str
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]


async def current_signer(app: RelaydeskApp) -> Signer:
    import orjson

    async with app.state.sessionmaker() as s:
        row = (
            (
                await s.execute(
                    select(SigningKey)
                    .where(SigningKey.retired_on.is_(None))
                    .order_by(SigningKey.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert row is not None
    return Signer(row.kid, orjson.loads(row.private_jwk), dict(row.public_jwk))


@pytest.fixture
async def jwt_world(client: httpx.AsyncClient, world: World) -> World:
    """The world, with a signing key created by a first exchange."""
    await exchange(client, world.a.company_v3)
    return world
