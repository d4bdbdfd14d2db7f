"""Property: for any arrival sequence the limiter never admits more than a quota in any
window, rejected requests count for nothing, and waiting Retry-After is always enough.
Checked on the memory backend and on the Redis Lua script."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaydesk.config import Settings
from relaydesk.infra.ratelimit.core import Limits
from relaydesk.infra.ratelimit.memory import MemoryLimiter
from relaydesk.infra.ratelimit.redis import RedisLimiter
from tests.services import REDIS_URL, need

MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC).timestamp()
GROUPS = ["v2", "v2.contacts"]

arrivals = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40_000_000),  # microseconds since previous
        st.sampled_from(GROUPS),
    ),
    min_size=1,
    max_size=60,
)
quotas = st.tuples(
    st.integers(min_value=1, max_value=6),  # minute
    st.integers(min_value=1, max_value=25),  # day
    st.integers(min_value=1, max_value=10),  # endpoint hour
)
starts = st.integers(min_value=-1_800_000_000, max_value=60_000_000)  # µs around midnight


def _check(admitted: list[tuple[float, str]], q: tuple[int, int, int]) -> None:
    q_minute, q_day, q_endpoint = q
    for t, group in admitted:
        in_minute = [a for a, _ in admitted if t - 60 < a <= t]
        assert len(in_minute) <= q_minute
        in_hour = [a for a, g in admitted if g == group and t - 3600 < a <= t]
        assert len(in_hour) <= q_endpoint
        same_day = [a for a, _ in admitted if a // 86400 == t // 86400]
        assert len(same_day) <= q_day


async def _run(
    make: Callable[[Callable[[], float]], MemoryLimiter | RedisLimiter],
    start: int,
    q: tuple[int, int, int],
    sequence: list[tuple[int, str]],
) -> None:
    clock_us = [round(MIDNIGHT * 1_000_000) + start]
    limiter = make(lambda: clock_us[0] / 1_000_000)
    limits = Limits(minute=q[0], day=q[1], endpoint_hour=q[2])
    admitted: list[tuple[float, str]] = []
    try:
        last = None
        for step, group in sequence:
            clock_us[0] += step
            decision = await limiter.hit(1, 7, group, limits)
            if decision.allowed:
                admitted.append((clock_us[0] / 1_000_000, group))
                assert decision.retry_after == 0
            else:
                assert decision.retry_after >= 1
            last = (decision, group)
        _check(admitted, q)
        assert last is not None
        decision, group = last
        if not decision.allowed:
            clock_us[0] += decision.retry_after * 1_000_000
            assert (await limiter.hit(1, 7, group, limits)).allowed
    finally:
        await limiter.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=starts, q=quotas, sequence=arrivals)
def test_memory_limiter_never_exceeds_quota(
    start: int, q: tuple[int, int, int], sequence: list[tuple[int, str]]
) -> None:
    base = Settings()
    asyncio.run(_run(lambda clock: MemoryLimiter(base, clock), start, q, sequence))


@pytest.fixture(scope="module")
def redis_available() -> None:
    need("Redis", "127.0.0.1", 6379)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(start=starts, q=quotas, sequence=arrivals)
def test_redis_limiter_never_exceeds_quota(
    redis_available: None, start: int, q: tuple[int, int, int], sequence: list[tuple[int, str]]
) -> None:
    prefix = f"relaydesk-test-{uuid.uuid4().hex}"
    base = Settings(redis_prefix=prefix)

    async def run() -> None:
        await _run(lambda clock: RedisLimiter(base, REDIS_URL, clock), start, q, sequence)
        cleaner = RedisLimiter(base, REDIS_URL)
        try:
            keys = [k async for k in cleaner.redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await cleaner.redis.delete(*keys)
        finally:
            await cleaner.close()

    asyncio.run(run())
