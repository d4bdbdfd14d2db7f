"""Types and the arithmetic shared by the backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from relaydesk.config import Settings

ENDPOINT_GROUPS = ("v2", "v2.contacts", "v2.messages", "v2.runs", "v3", "rpc")

MINUTE = 60
HOUR = 3_600
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Limits:
    """A workspace's effective limits (plan defaults with its overrides applied)."""

    minute: int
    day: int
    endpoint_hour: int | None = None  # None: the configured per-group default


def resolve_limits(
    settings: Settings,
    plan: str,
    minute: int | None = None,
    day: int | None = None,
    endpoint_hour: int | None = None,
) -> Limits:
    base = settings.plan_limits.get(plan) or settings.plan_limits["standard"]
    return Limits(minute=minute or base.minute, day=day or base.day, endpoint_hour=endpoint_hour)


def endpoint_quota(settings: Settings, limits: Limits, group: str) -> int:
    if limits.endpoint_hour is not None:
        return limits.endpoint_hour
    return settings.endpoint_group_limits.get(group, settings.endpoint_hour_limit)


@dataclass(frozen=True, slots=True)
class PolicyState:
    name: str  # minute | day | endpoint
    quota: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until the next unit of quota frees up (0 if nothing is counted)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int  # whole seconds ≥ 1 when rejected; 0 when allowed
    policies: tuple[PolicyState, ...] = ()
    group: str = ""
    now: float = 0.0  # when it was decided (epoch seconds)

    def tightest(self) -> PolicyState | None:
        """The policy closest to exhaustion (fewest remaining; then the longest wait)."""
        if not self.policies:
            return None
        return min(self.policies, key=lambda p: (p.remaining, -p.reset))


US = 1_000_000  # all window arithmetic is in integer microseconds: exact, no float drift


def to_us(seconds: float) -> int:
    return round(seconds * US)


@dataclass(frozen=True, slots=True)
class Raw:
    """What a backend measured in one atomic step (times in integer microseconds)."""

    allowed: bool
    minute_count: int
    day_count: int
    endpoint_count: int
    minute_wait: int  # until the minute window admits again (rejected only, else 0)
    endpoint_wait: int
    day_wait: int
    minute_oldest: int | None  # oldest admitted request in the window
    endpoint_oldest: int | None


def us_to_midnight(now_us: int) -> int:
    day_us = DAY * US
    return (now_us // day_us + 1) * day_us - now_us


def whole_seconds(us: int) -> int:
    """Round a positive wait up to whole seconds (at least 1)."""
    return max(1, -(-us // US))


def decide(raw: Raw, now_us: int, quotas: tuple[int, int, int], group: str) -> Decision:
    q_minute, q_day, q_endpoint = quotas

    def reset(wait: int, oldest: int | None, window: int) -> int:
        if wait > 0:
            return whole_seconds(wait)
        return 0 if oldest is None else max(0, -(-(oldest + window * US - now_us) // US))

    policies = (
        PolicyState(
            "minute",
            q_minute,
            MINUTE,
            max(0, q_minute - raw.minute_count),
            reset(raw.minute_wait, raw.minute_oldest, MINUTE),
        ),
        PolicyState(
            "day", q_day, DAY, max(0, q_day - raw.day_count), whole_seconds(us_to_midnight(now_us))
        ),
        PolicyState(
            "endpoint",
            q_endpoint,
            HOUR,
            max(0, q_endpoint - raw.endpoint_count),
            reset(raw.endpoint_wait, raw.endpoint_oldest, HOUR),
        ),
    )
    now = now_us / US
    if raw.allowed:
        return Decision(True, 0, policies, group, now)
    wait = max(raw.minute_wait, raw.endpoint_wait, raw.day_wait)
    return Decision(False, whole_seconds(wait), policies, group, now)


@dataclass(slots=True)
class Usage:
    minute: int = 0
    day: int = 0
    endpoints: dict[str, int] = field(default_factory=dict)
    tokens: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (minute, day)
    hourly: list[int] = field(default_factory=list)  # last 24 UTC hours, oldest first


class Limiter(Protocol):
    async def hit(
        self, workspace_id: int, token_id: int | None, group: str, limits: Limits
    ) -> Decision:
        """Count one request if every window admits it; otherwise count nothing."""

    async def usage(self, workspace_id: int, groups: list[str], token_ids: list[int]) -> Usage: ...

    async def auth_failure(self, ip: str) -> int:
        """Record a failed authentication from ``ip``; return seconds it is blocked (0: not)."""

    def ip_blocked(self, ip: str) -> int:
        """Seconds ``ip`` is still blocked for, from this process's knowledge (no I/O)."""

    async def close(self) -> None: ...
