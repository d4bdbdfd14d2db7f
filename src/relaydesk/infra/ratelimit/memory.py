"""In-process limiter: exact sliding logs in deques. One process only (the embedded default)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable

from relaydesk.config import Settings
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


def _prune(log: deque[int], horizon: int) -> None:
    while log and log[0] <= horizon:
        log.popleft()


class MemoryLimiter(BaseLimiter):
    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        super().__init__(settings, clock)
        self._logs: dict[Hashable, deque[int]] = {}
        self._counters: dict[tuple[str, int, int], int] = {}
        self._last_gc = 0

    def _log(self, key: Hashable) -> deque[int]:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = deque()
        return log

    def _incr(self, kind: str, owner: int, index: int) -> None:
        key = (kind, owner, index)
        self._counters[key] = self._counters.get(key, 0) + 1

    async def hit(
        self, workspace_id: int, token_id: int | None, group: str, limits: Limits
    ) -> Decision:
        now = to_us(self.clock())
        self._gc(now)
        quotas = q_minute, q_day, q_endpoint = self.quotas(limits, group)
        minute_log = self._log(("m", workspace_id))
        endpoint_log = self._log(("e", workspace_id, group))
        _prune(minute_log, now - MINUTE * US)
        _prune(endpoint_log, now - HOUR * US)
        day = now // (DAY * US)
        c_minute, c_endpoint = len(minute_log), len(endpoint_log)
        c_day = self._counters.get(("d", workspace_id, day), 0)
        if c_minute >= q_minute or c_endpoint >= q_endpoint or c_day >= q_day:
            raw = Raw(
                allowed=False,
                minute_count=c_minute,
                day_count=c_day,
                endpoint_count=c_endpoint,
                minute_wait=minute_log[c_minute - q_minute] + MINUTE * US - now
                if c_minute >= q_minute
                else 0,
                endpoint_wait=endpoint_log[c_endpoint - q_endpoint] + HOUR * US - now
                if c_endpoint >= q_endpoint
                else 0,
                day_wait=us_to_midnight(now) if c_day >= q_day else 0,
                minute_oldest=minute_log[0] if minute_log else None,
                endpoint_oldest=endpoint_log[0] if endpoint_log else None,
            )
            return decide(raw, now, quotas, group)
        minute_log.append(now)
        endpoint_log.append(now)
        self._incr("d", workspace_id, day)
        self._incr("h", workspace_id, now // (HOUR * US))
        if token_id is not None:
            self._incr("td", token_id, day)
            self._incr("tm", token_id, now // (MINUTE * US))
        raw = Raw(
            allowed=True,
            minute_count=c_minute + 1,
            day_count=c_day + 1,
            endpoint_count=c_endpoint + 1,
            minute_wait=0,
            endpoint_wait=0,
            day_wait=0,
            minute_oldest=minute_log[0],
            endpoint_oldest=endpoint_log[0],
        )
        return decide(raw, now, quotas, group)

    async def usage(self, workspace_id: int, groups: list[str], token_ids: list[int]) -> Usage:
        now = to_us(self.clock())
        minute_log = self._log(("m", workspace_id))
        _prune(minute_log, now - MINUTE * US)
        endpoints = {}
        for group in groups:
            log = self._log(("e", workspace_id, group))
            _prune(log, now - HOUR * US)
            endpoints[group] = len(log)
        day, minute, hour = now // (DAY * US), now // (MINUTE * US), now // (HOUR * US)
        return Usage(
            minute=len(minute_log),
            day=self._counters.get(("d", workspace_id, day), 0),
            endpoints=endpoints,
            tokens={
                t: (self._counters.get(("tm", t, minute), 0), self._counters.get(("td", t, day), 0))
                for t in token_ids
            },
            hourly=[
                self._counters.get(("h", workspace_id, h), 0) for h in range(hour - 23, hour + 1)
            ],
        )

    async def auth_failure(self, ip: str) -> int:
        now = to_us(self.clock())
        log = self._log(("ip", ip))
        _prune(log, now - MINUTE * US)
        log.append(now)
        quota = self.settings.auth_failures_per_minute
        if len(log) < quota:
            return 0
        return self._block(ip, log[len(log) - quota] + MINUTE * US - now)

    def _gc(self, now: int) -> None:
        """Forget counters and empty logs that can no longer matter (every minute or so)."""
        if now - self._last_gc < MINUTE * US:
            return
        self._last_gc = now
        day, minute, hour = now // (DAY * US), now // (MINUTE * US), now // (HOUR * US)
        keep = {"d": day - 1, "td": day - 1, "tm": minute - 1, "h": hour - 25}
        self._counters = {k: v for k, v in self._counters.items() if k[2] >= keep[k[0]]}
        for key in [k for k, log in self._logs.items() if not log or log[-1] <= now - HOUR * US]:
            del self._logs[key]

    async def close(self) -> None:
        return None


class NullLimiter(BaseLimiter):
    """``RELAYDESK_RATE_LIMITS=off``: admits everything, counts nothing, sends no headers."""

    async def hit(
        self, workspace_id: int, token_id: int | None, group: str, limits: Limits
    ) -> Decision:
        return Decision(True, 0, (), group)

    async def usage(self, workspace_id: int, groups: list[str], token_ids: list[int]) -> Usage:
        return Usage(endpoints=dict.fromkeys(groups, 0), tokens={t: (0, 0) for t in token_ids})

    async def auth_failure(self, ip: str) -> int:
        return 0

    async def close(self) -> None:
        return None
