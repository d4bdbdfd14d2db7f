from __future__ import annotations

from relaydesk.config import Settings
from relaydesk.infra.ratelimit.core import Limiter
from relaydesk.infra.ratelimit.memory import MemoryLimiter, NullLimiter
from relaydesk.infra.ratelimit.redis import RedisLimiter


def make_limiter(settings: Settings) -> Limiter:
    """off → NullLimiter; RELAYDESK_REDIS_URL set → Redis (shared); else in-memory."""
    if settings.rate_limits == "off":
        return NullLimiter(settings)
    if settings.redis_url:
        return RedisLimiter(settings, settings.redis_url)
    return MemoryLimiter(settings)
