"""Rate-limit response headers (IETF draft-ietf-httpapi-ratelimit-headers + the X- trio).

``RateLimit-Policy: "minute";q=300;w=60, "day";q=60000;w=86400, "endpoint";q=2500;w=3600``
``RateLimit: "minute";r=123;t=17`` — the policy closest to exhaustion
``X-RateLimit-Limit / -Remaining`` for that policy, ``X-RateLimit-Reset`` as epoch seconds.
"""

from __future__ import annotations

import math
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaydesk.infra.ratelimit.core import Decision

STATE_KEY = "ratelimit"


@lru_cache(maxsize=1024)
def _policy(policies: tuple[tuple[str, int, int], ...]) -> str:
    return ", ".join(f'"{name}";q={quota};w={window}' for name, quota, window in policies)


def header_pairs(decision: Decision) -> list[tuple[str, str]]:
    tight = decision.tightest()
    if tight is None:
        return []
    policy = _policy(tuple((p.name, p.quota, p.window) for p in decision.policies))
    return [
        ("RateLimit-Policy", policy),
        ("RateLimit", f'"{tight.name}";r={tight.remaining};t={tight.reset}'),
        ("X-RateLimit-Limit", str(tight.quota)),
        ("X-RateLimit-Remaining", str(tight.remaining)),
        ("X-RateLimit-Reset", str(math.floor(decision.now) + tight.reset)),
        ("X-RateLimit-Resource", tight.name if tight.name != "endpoint" else decision.group),
    ]


def raw_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in header_pairs(decision)]


class RateLimitHeadersMiddleware:
    """Adds the headers of the request's limiter decision (``scope["state"]["ratelimit"]``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = state.get(STATE_KEY)
                if decision is not None:
                    headers = [*message.get("headers", []), *raw_headers(decision)]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
