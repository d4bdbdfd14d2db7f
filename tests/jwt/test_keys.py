"""Signing keys: created on the first exchange, rotated, retired, seen by every replica;
``relaydesk keys rotate|list``. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import jwt as pyjwt
from relaydesk.app import RelaydeskApp, create_app
from relaydesk.cli.keys import COLUMNS
from relaydesk.cli.main import app as cli_app
from relaydesk.config import Settings, get_settings
from relaydesk.kit.time import utcnow
from relaydesk.models import SigningKey
from relaydesk.platform.jwts import service
from relaydesk.platform.jwts.keys import MAX_TTL_SECONDS, RETIRED_GRACE
from tests.conftest import World, auth
from tests.jwt.conftest import bearer, exchange, token_id


def kid_of(token: str) -> str:
    return str(pyjwt.get_unverified_header(token)["kid"])


async def jwks_kids(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return [k["kid"] for k in response.json()["keys"]]


async def rotate(app: RelaydeskApp, activation: float = 0, **kw: Any) -> SigningKey:
    async with app.state.sessionmaker() as session:
        row = await service.rotate(session, activation=timedelta(seconds=activation), **kw)
        await session.commit()
        return row


@pytest.fixture
async def replica(app: RelaydeskApp, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second API process on the same database (its own caches and change watcher)."""
    other = create_app(settings)
    async with other.fastapi.router.lifespan_context(other.fastapi):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_first_exchange_creates_the_key(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    assert await jwks_kids(client) == []
    first, second = await asyncio.gather(
        exchange(client, world.a.company_v3), exchange(client, world.b.company_v3)
    )
    kids = await jwks_kids(client)
    assert kid_of(first) in kids
    assert kid_of(second) in kids
    for token in (first, second):
        assert (await client.get("/api/v3/me", headers=bearer(token))).status_code == 200
    # later exchanges all use the same one of them: the oldest
    later = {kid_of(await exchange(client, world.a.company_v3)) for _ in range(3)}
    async with app.state.sessionmaker() as s:
        rows = (await s.execute(select(SigningKey))).scalars().all()
    assert later == {min(rows, key=lambda r: (r.created_on, r.kid)).kid}
    async with app.state.sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(SigningKey))).scalar_one() == len(
            kids
        )


async def test_rotation_signs_with_the_new_key_and_old_tokens_stay_valid(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    old = await exchange(client, world.a.company_v3)
    new_key = await rotate(app)
    new = await exchange(client, world.a.company_v3)
    assert kid_of(new) == new_key.kid != kid_of(old)
    assert await jwks_kids(client) == [new_key.kid, kid_of(old)]
    for token in (old, new):
        assert (await client.get("/api/v3/me", headers=bearer(token))).status_code == 200

    async with app.state.sessionmaker() as s:
        rows = {r.kid: r for r in (await s.execute(select(SigningKey))).scalars()}
    retired = rows[kid_of(old)]
    assert retired.retired_on is not None
    assert retired.verify_until is not None
    assert retired.verify_until - retired.retired_on == (
        timedelta(seconds=MAX_TTL_SECONDS) + RETIRED_GRACE
    )
    assert rows[new_key.kid].retired_on is None


async def test_rotation_publishes_the_new_key_before_it_signs(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    old = await exchange(client, world.a.company_v3)
    new_key = await rotate(app, activation=120)
    assert await jwks_kids(client) == [new_key.kid, kid_of(old)]
    assert kid_of(await exchange(client, world.a.company_v3)) == kid_of(old)
    async with app.state.sessionmaker() as s:
        listed = service.keys_out(await service.list_keys(s))
    assert [(k.kid, k.signing) for k in listed] == [(new_key.kid, False), (kid_of(old), True)]
    # once the activation delay has passed (this process's key clock moved 121 s ahead)
    ring = app.state.jwt_keys
    ring.clock = lambda: utcnow() + timedelta(seconds=121)
    try:
        newer = await exchange(client, world.a.company_v3)
    finally:
        ring.clock = utcnow
    assert kid_of(newer) == new_key.kid
    for token in (old, newer):
        assert (await client.get("/api/v3/me", headers=bearer(token))).status_code == 200


async def test_retired_key_stops_verifying_after_its_tokens_expired(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    old = await exchange(client, world.a.company_v3)
    assert (await client.get("/api/v3/me", headers=bearer(old))).status_code == 200  # verified
    # a rotation long enough ago that everything the old key signed has expired
    past = utcnow() - timedelta(seconds=MAX_TTL_SECONDS) - RETIRED_GRACE - timedelta(seconds=5)
    await rotate(app, now=past)
    response = await client.get("/api/v3/me", headers=bearer(old))
    assert response.status_code == 401
    assert response.json()["detail"] == "JWT signing key (kid) is unknown or retired."
    assert kid_of(old) not in await jwks_kids(client)
    # the next rotation deletes it
    await rotate(app)
    async with app.state.sessionmaker() as s:
        kids = set((await s.execute(select(SigningKey.kid))).scalars())
    assert kid_of(old) not in kids
    assert len(kids) == 2


async def test_rotation_reaches_other_replicas(
    app: RelaydeskApp, client: httpx.AsyncClient, replica: httpx.AsyncClient, world: World
) -> None:
    old = await exchange(client, world.a.company_v3)
    # the replica caches the keys
    assert (await replica.get("/api/v3/me", headers=bearer(old))).status_code == 200
    assert await jwks_kids(replica) == [kid_of(old)]
    new_key = await rotate(app)  # e.g. `relaydesk keys rotate` on another host
    assert await jwks_kids(replica) == [new_key.kid, kid_of(old)]
    new = await exchange(client, world.a.company_v3)
    assert (await replica.get("/api/v3/me", headers=bearer(new))).status_code == 200
    # and the replica itself signs with the new key
    assert kid_of(await exchange(replica, world.b.company_v3)) == new_key.kid


async def test_unknown_kid_rereads_the_keys(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World
) -> None:
    """A key added where no change notification reaches this process (simulated: this
    process's cache is put back) is found by re-reading the keys when its kid arrives."""
    await exchange(client, world.a.company_v3)
    ring = app.state.jwt_keys
    stale = await ring.ring()
    await rotate(app)
    new = await exchange(client, world.a.company_v3)
    ring._cache.put("ring", stale, ring._cache.version())
    assert (await ring.ring()) is stale
    ring._reloaded_at = -10.0
    assert (await client.get("/api/v3/me", headers=bearer(new))).status_code == 200


async def test_revocation_reaches_other_replicas_at_once(
    client: httpx.AsyncClient, replica: httpx.AsyncClient, world: World, session: Any
) -> None:
    token = await exchange(client, world.a.editor.personal_v3)
    for _ in range(2):  # the replica has the key's principal cached
        assert (await replica.get("/api/v3/me", headers=bearer(token))).status_code == 200
    key_id = await token_id(session, world.a.editor.email, "mine v3")
    response = await client.delete(f"/api/v3/tokens/{key_id}", headers=auth(world.a.company_v3))
    assert response.status_code == 204
    for _ in range(50):  # PostgreSQL: the NOTIFY arrives before the DELETE's response
        rejected = await replica.get("/api/v3/me", headers=bearer(token))
        if rejected.status_code == 401:
            break
        await asyncio.sleep(0.02)
    assert rejected.status_code == 401
    assert rejected.json()["detail"] == "Invalid token."


# -- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RELAYDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELAYDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RELAYDESK_LOG_LEVEL", "warning")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return orjson.loads(result.stdout) if "--json" in args else result.output


def test_cli_keys_rotate_and_list(cli_env: None) -> None:
    assert run("keys", "list", "--json") == []
    first = run("keys", "rotate", "--json")  # the first key signs at once
    assert first["signing"] is True
    assert first["retired_on"] is None
    assert first["algorithm"] == "ES256"
    second = run("keys", "rotate", "--json")  # published now, signs in 120 s
    assert second["kid"] != first["kid"]
    assert second["signing"] is False
    listed = run("keys", "list", "--json")
    assert [(k["kid"], k["signing"]) for k in listed] == [
        (second["kid"], False),
        (first["kid"], True),
    ]
    assert listed[1]["created_on"] < listed[1]["retired_on"] < listed[1]["verify_until"]
    third = run("keys", "rotate", "--now", "--json")
    assert third["signing"] is True
    listed = run("keys", "list", "--json")
    assert [k["signing"] for k in listed] == [True, False, False]
    assert all(set(k) == {*COLUMNS} for k in listed)  # never the private key
    table = run("keys", "list")
    assert "Signing keys" in table
    assert first["kid"][:5] in table
