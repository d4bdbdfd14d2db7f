"""Redis limiter: one Lua script per check (one round trip, atomic for all windows), so any
number of server processes share exact counts.

Keys carry the hash tag ``{w<id>}`` so one workspace's keys live in one cluster slot. Times
are passed in by the caller (milliseconds), which keeps the clock injectable in tests.
If Redis cannot be reached the limiter fails open (admits, logs a warning) or closed
(:class:`LimiterUnavailable`, a 503) per ``RELAYDESK_RATE_LIMIT_FAIL``; never a 500.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from relaydesk.config import Settings
from relaydesk.exceptions import LimiterUnavailable
from relaydesk.infra.ratelimit.base import BaseLimiter, Clock
from relaydesk.infra.ratelimit.core import (
    DAY,
    HOUR,
    MINUTE,
    US,
    Decision,
    Limits,
    Raw,
    Usage,
    decide,
    to_us,
    us_to_midnight,
)

log = logging.getLogger("relaydesk.ratelimit")

# Times are integer microseconds (exact in Lua's doubles: < 2^53); expiries in ms.
# KEYS: 1 minute log, 2 day counter, 3 endpoint log, 4 token day, 5 token minute, 6 hour counter
# ARGV: 1 now, 2 minute quota, 3 day quota, 4 endpoint quota, 5 member, 6 µs to midnight,
#       7 token counted (1/0)
HIT = """
local now = tonumber(ARGV[1])
local qm, qd, qe = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 3600000000)
local cm = redis.call('ZCARD', KEYS[1])
local ce = redis.call('ZCARD', KEYS[3])
local cd = tonumber(redis.call('GET', KEYS[2]) or '0')
local function score(key, i)
  local r = redis.call('ZRANGE', key, i, i, 'WITHSCORES')
  if r[2] then return r[2] end
  return ''
end
local function wait(key, i, window)
  return string.format('%d', tonumber(score(key, i)) + window - now)
end
if cm >= qm or ce >= qe or cd >= qd then
  local wm, we, wd = '0', '0', '0'
  if cm >= qm then wm = wait(KEYS[1], cm - qm, 60000000) end
  if ce >= qe then we = wait(KEYS[3], ce - qe, 3600000000) end
  if cd >= qd then wd = ARGV[6] end
  return {0, cm, cd, ce, wm, we, wd, score(KEYS[1], 0), score(KEYS[3], 0)}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[1], 61000)
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[3], 3601000)
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], math.floor(tonumber(ARGV[6]) / 1000) + 3600000)
redis.call('INCR', KEYS[6])
redis.call('EXPIRE', KEYS[6], 90000)
if ARGV[7] == '1' then
  redis.call('INCR', KEYS[4])
  redis.call('EXPIRE', KEYS[4], 90000)
  redis.call('INCR', KEYS[5])
  redis.call('EXPIRE', KEYS[5], 120)
end
return {1, cm + 1, cd + 1, ce + 1, '0', '0', '0', score(KEYS[1], 0), score(KEYS[3], 0)}
"""

# KEYS: 1 failure log; ARGV: 1 now (µs), 2 quota, 3 member. Returns the block in µs ('0': none).
FAIL = """
local now = tonumber(ARGV[1])
local q = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000000)
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], 61000)
local c = redis.call('ZCARD', KEYS[1])
if c < q then return '0' end
local r = redis.call('ZRANGE', KEYS[1], c - q, c - q, 'WITHSCORES')
return string.format('%d', tonumber(r[2]) + 60000000 - now)
"""


def _us(value: Any) -> int:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return int(float(text)) if text else 0


def _optional_us(value: Any) -> int | None:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return int(float(text)) if text else None


class RedisLimiter(BaseLimiter):
    def __init__(self, settings: Settings, url: str, clock: Clock = time.time) -> None:
        super().__init__(settings, clock)
        self.redis = aioredis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )
        self._hit = self.redis.register_script(HIT)
        self._fail = self.redis.register_script(FAIL)
        self._prefix = settings.redis_prefix
        self._last_warning = 0.0

    def _keys(self, workspace_id: int, token_id: int | None, group: str, now: int) -> list[str]:
        ws = f"{self._prefix}:{{w{workspace_id}}}"
        day, minute, hour = now // (DAY * US), now // (MINUTE * US), now // (HOUR * US)
        token = token_id if token_id is not None else 0
        return [
            f"{ws}:m",
            f"{ws}:d:{day}",
            f"{ws}:e:{group}",
            f"{ws}:t{token}:d:{day}",
            f"{ws}:t{token}:m:{minute}",
            f"{ws}:h:{hour}",
        ]

    def _unavailable(self, exc: Exception) -> None:
        if self.settings.rate_limit_fail == "closed":
            raise LimiterUnavailable("Rate limiter unavailable; try again shortly.") from exc
        now = time.monotonic()
        if now - self._last_warning > 10:
            self._last_warning = now
            log.warning("rate limiter: Redis unreachable, admitting requests (fail open): %s", exc)

    async def hit(
        self, workspace_id: int, token_id: int | None, group: str, limits: Limits
    ) -> Decision:
        now = to_us(self.clock())
        quotas = self.quotas(limits, group)
        try:
            result = await self._hit(
                keys=self._keys(workspace_id, token_id, group, now),
                args=[
                    str(now),
                    *quotas,
                    uuid.uuid4().hex,
                    str(us_to_midnight(now)),
                    "1" if token_id is not None else "0",
                ],
            )
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return Decision(True, 0, (), group)
        allowed, c_minute, c_day, c_endpoint, w_minute, w_endpoint, w_day, oldest_m, oldest_e = (
            result
        )
        raw = Raw(
            allowed=bool(allowed),
            minute_count=int(c_minute),
            day_count=int(c_day),
            endpoint_count=int(c_endpoint),
            minute_wait=_us(w_minute),
            endpoint_wait=_us(w_endpoint),
            day_wait=_us(w_day),
            minute_oldest=_optional_us(oldest_m),
            endpoint_oldest=_optional_us(oldest_e),
        )
        return decide(raw, now, quotas, group)

    async def usage(self, workspace_id: int, groups: list[str], token_ids: list[int]) -> Usage:
        now = to_us(self.clock())
        ws = f"{self._prefix}:{{w{workspace_id}}}"
        day, minute, hour = now // (DAY * US), now // (MINUTE * US), now // (HOUR * US)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcount(f"{ws}:m", f"({now - MINUTE * US}", "+inf")
                pipe.get(f"{ws}:d:{day}")
                for group in groups:
                    pipe.zcount(f"{ws}:e:{group}", f"({now - HOUR * US}", "+inf")
                for token in token_ids:
                    pipe.get(f"{ws}:t{token}:m:{minute}")
                    pipe.get(f"{ws}:t{token}:d:{day}")
                for h in range(hour - 23, hour + 1):
                    pipe.get(f"{ws}:h:{h}")
                values = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return Usage()
        it = iter(values)
        minute_count = int(next(it) or 0)
        day_count = int(next(it) or 0)
        endpoints = {group: int(next(it) or 0) for group in groups}
        tokens = {t: (int(next(it) or 0), int(next(it) or 0)) for t in token_ids}
        hourly = [int(v or 0) for v in it]
        return Usage(minute_count, day_count, endpoints, tokens, hourly)

    async def auth_failure(self, ip: str) -> int:
        now = to_us(self.clock())
        try:
            wait = await self._fail(
                keys=[f"{self._prefix}:ip:{ip}"],
                args=[str(now), self.settings.auth_failures_per_minute, uuid.uuid4().hex],
            )
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return 0
        return self._block(ip, _us(wait))

    async def close(self) -> None:
        await self.redis.aclose()
