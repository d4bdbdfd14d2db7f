"""What every backend shares: the clock, quotas and the local cache of blocked IPs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from relaydesk.config import Settings
from relaydesk.infra.ratelimit.core import Limits, endpoint_quota, whole_seconds

Clock = Callable[[], float]


class BaseLimiter:
    def __init__(self, settings: Settings, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._blocked: dict[str, float] = {}

    def quotas(self, limits: Limits, group: str) -> tuple[int, int, int]:
        return limits.minute, limits.day, endpoint_quota(self.settings, limits, group)

    def ip_blocked(self, ip: str) -> int:
        until = self._blocked.get(ip)
        if until is None:
            return 0
        left = until - self.clock()
        if left <= 0:
            del self._blocked[ip]
            return 0
        return max(1, math.ceil(left))

    def _block(self, ip: str, wait_us: int) -> int:
        if wait_us <= 0:
            return 0
        if len(self._blocked) > 100_000:
            self._blocked.clear()
        seconds = whole_seconds(wait_us)
        self._blocked[ip] = self.clock() + seconds
        return seconds
