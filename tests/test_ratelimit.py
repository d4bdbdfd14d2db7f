"""Rate limits through the HTTP doors (memory backend, both databases, injected clock)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.workspace import service as workspaces
from relaydesk.domains.workspace.schemas import WorkspaceUpdate
from relaydesk.infra.ratelimit.memory import MemoryLimiter, NullLimiter
from relaydesk.infra.ratelimit.redis import RedisLimiter
from tests.conftest import Tenant, World, auth

URL = "/api/v2/workspace.json"
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC).timestamp()


class Clock:
    """Whole microseconds, so that many small steps add up exactly."""

    def __init__(self, now: float = T0) -> None:
        self.us = round(now * 1_000_000)

    @property
    def now(self) -> float:
        return self.us / 1_000_000

    @now.setter
    def now(self, value: float) -> None:
        self.us = round(value * 1_000_000)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.us += round(seconds * 1_000_000)


@pytest.fixture
def clock(app: RelaydeskApp, client: httpx.AsyncClient) -> Clock:
    fake = Clock()
    app.state.limiter.clock = fake
    return fake


async def set_limits(session: AsyncSession, tenant: Tenant, **changes: object) -> None:
    ws = await workspaces.get_by_uuid(session, tenant.uuid)
    await workspaces.update(session, ws, WorkspaceUpdate(**changes))
    await session.commit()


async def test_standard_plan_300_per_minute_then_exact_retry_after(
    client: httpx.AsyncClient, world: World, clock: Clock
) -> None:
    headers = auth(world.a.company)
    for i in range(300):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 200, i
        clock.advance(0.1)
    # now = T0 + 30.0; the first request leaves the window at T0 + 60
    response = await client.get(URL, headers=headers)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.json() == {"detail": "Request was throttled. Expected available in 30 seconds."}
    assert response.headers["RateLimit"] == '"minute";r=0;t=30'

    clock.advance(29.5)
    response = await client.get(URL, headers=headers)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    clock.advance(0.5)  # exactly Retry-After after the first 429
    assert (await client.get(URL, headers=headers)).status_code == 200
    # the other workspace was never affected
    assert (await client.get(URL, headers=auth(world.b.company))).status_code == 200


async def test_personal_and_company_tokens_share_the_workspace_quota(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, limit_minute=4)
    tokens = [world.a.company, world.a.admin.personal, world.a.viewer.personal, world.a.company]
    for token in tokens:
        assert (await client.get(URL, headers=auth(token))).status_code == 200
    assert (await client.get(URL, headers=auth(world.a.editor.personal))).status_code == 429


async def test_enterprise_gets_600_per_minute(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, plan="enterprise")
    headers = auth(world.a.company)
    for i in range(600):
        assert (await client.get(URL, headers=headers)).status_code == 200, i
    response = await client.get(URL, headers=headers)
    assert response.status_code == 429
    assert '"minute";q=600;w=60' in response.headers["RateLimit-Policy"]
    assert '"day";q=120000;w=86400' in response.headers["RateLimit-Policy"]


async def test_endpoint_hour_limit_trips_independently(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, limit_endpoint_hour=5)
    for _ in range(5):
        assert (await client.get(URL, headers=auth(world.a.company))).status_code == 200
        clock.advance(60)  # spread out: the minute window never fills
    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 429
    # the first of the five leaves the hour window at T0 + 3600; now is T0 + 300
    assert response.headers["Retry-After"] == "3300"
    assert response.headers["RateLimit"] == '"endpoint";r=0;t=3300'
    assert response.headers["X-RateLimit-Resource"] == "v2"
    # the v3 group has its own hourly budget, and the minute/day windows have room
    v3 = await client.get(
        "/api/v3/tokens", headers={"Authorization": f"Bearer {world.a.company_v3}"}
    )
    assert v3.status_code == 200
    assert v3.headers["X-RateLimit-Resource"] == "v3"


async def test_day_limit_resets_at_utc_midnight(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, limit_day=3)
    clock.now = datetime(2026, 11, 23, 23, 59, 50, 300_000, tzinfo=UTC).timestamp()
    for _ in range(3):
        assert (await client.get(URL, headers=auth(world.a.company))).status_code == 200
    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "10"  # 9.7 s to midnight, rounded up
    assert response.headers["RateLimit"] == '"day";r=0;t=10'
    clock.now = datetime(2026, 11, 24, 0, 0, 0, tzinfo=UTC).timestamp()
    assert (await client.get(URL, headers=auth(world.a.company))).status_code == 200


async def test_headers_on_success_are_consistent(
    client: httpx.AsyncClient, world: World, clock: Clock
) -> None:
    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 200
    h = response.headers
    assert h["RateLimit-Policy"] == (
        '"minute";q=300;w=60, "day";q=60000;w=86400, "endpoint";q=2500;w=3600'
    )
    assert h["RateLimit"] == '"minute";r=299;t=60'
    assert h["X-RateLimit-Limit"] == "300"
    assert h["X-RateLimit-Remaining"] == "299"
    assert h["X-RateLimit-Reset"] == str(math.floor(T0) + 60)
    clock.advance(10)
    h = (await client.get(URL, headers=auth(world.a.company))).headers
    assert h["RateLimit"] == '"minute";r=298;t=50'  # the oldest request frees up in 50 s


async def test_rejected_requests_consume_no_quota(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, limit_minute=2)
    for _ in range(2):
        assert (await client.get(URL, headers=auth(world.a.company))).status_code == 200
    for _ in range(20):
        assert (await client.get(URL, headers=auth(world.a.company))).status_code == 429
        clock.advance(1)
    clock.advance(40)  # 60 s after the two admitted requests
    results = [(await client.get(URL, headers=auth(world.a.company))).status_code for _ in range(3)]
    assert results == [200, 200, 429]


async def test_v3_429_body(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: Clock
) -> None:
    await set_limits(session, world.a, limit_minute=1)
    headers = {"Authorization": f"Bearer {world.a.company_v3}"}
    assert (await client.get("/api/v3/tokens", headers=headers)).status_code == 200
    response = await client.get("/api/v3/tokens", headers=headers)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    body = response.json()
    assert body["error"] == "ratelimited"
    assert body["retry_after"] == 60


async def test_failed_authentication_is_limited_per_ip(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, clock: Clock
) -> None:
    quota = app.state.settings.auth_failures_per_minute
    wrong = auth(world.a.company[:-2] + ("AA" if world.a.company[-2:] != "AA" else "BB"))
    for _ in range(quota):
        assert (await client.get(URL, headers=wrong)).status_code == 403
    # the guard now answers before even looking at the credentials, valid or not
    for headers in (wrong, auth(world.a.company)):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "60"
    clock.advance(60)
    assert (await client.get(URL, headers=auth(world.a.company))).status_code == 200
    # missing credentials are not guesses: never counted
    for _ in range(quota + 5):
        assert (await client.get(URL)).status_code == 403


async def test_usage_endpoint(client: httpx.AsyncClient, world: World, clock: Clock) -> None:
    for _ in range(3):
        await client.get(URL, headers=auth(world.a.company))
    await client.get(URL, headers=auth(world.a.viewer.personal))
    response = await client.get(
        "/api/v3/usage", headers={"Authorization": f"Bearer {world.a.company_v3}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["workspace"] == world.a.uuid
    assert body["plan"] == "standard"
    assert body["minute"] == {"used": 5, "limit": 300, "remaining": 295}  # includes this call
    assert body["day"]["used"] == 5
    groups = {e["group"]: e for e in body["endpoints"]}
    assert groups["v2"]["used"] == 4
    assert groups["v3"]["used"] == 1
    assert groups["v2"]["limit"] == 2500
    tokens = {t["prefix"]: t for t in body["tokens"]}
    assert tokens[world.a.company[:11]]["day"] == 3
    assert tokens[world.a.company[:11]]["minute"] == 3
    assert tokens[world.a.viewer.personal[:11]]["day"] == 1
    assert len(body["hourly"]) == 24
    assert body["hourly"][-1] == {"hour": "2026-11-23T10:00:00.000000Z", "requests": 5}
    # a personal key sees only its own tokens' rows
    mine = await client.get(
        "/api/v3/usage", headers={"Authorization": f"Bearer {world.a.viewer.personal_v3}"}
    )
    assert {t["prefix"] for t in mine.json()["tokens"]} == {
        world.a.viewer.personal[:11],
        world.a.viewer.personal_v3[:11],
    }


async def test_rate_limits_off(app: RelaydeskApp, client: httpx.AsyncClient, world: World) -> None:
    app.state.limiter = NullLimiter(app.state.settings)
    for _ in range(350):
        response = await client.get(URL, headers=auth(world.a.company))
        assert response.status_code == 200
    assert "RateLimit" not in response.headers
    assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize(("mode", "status"), [("open", 200), ("closed", 503)])
async def test_redis_down_fails_open_or_closed_never_500(
    app: RelaydeskApp, client: httpx.AsyncClient, world: World, mode: str, status: int
) -> None:
    settings = app.state.settings.model_copy(update={"rate_limit_fail": mode})
    limiter = RedisLimiter(settings, "redis://127.0.0.1:1/0")  # nothing listens there
    app.state.limiter = limiter
    try:
        response = await client.get(URL, headers=auth(world.a.company))
    finally:
        await limiter.close()
        app.state.limiter = MemoryLimiter(app.state.settings)
    assert response.status_code == status
    if mode == "closed":
        assert response.headers["Retry-After"] == "1"
        assert "detail" in response.json()
