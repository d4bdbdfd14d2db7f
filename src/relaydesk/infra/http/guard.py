"""The one entry for authenticated requests on every door: brute-force guard, authentication,
rate limit. Sets ``request.state.ratelimit`` for the response headers."""

from __future__ import annotations

from starlette.requests import Request

from relaydesk.exceptions import InvalidAuth, RateLimited
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.ratelimit.headers import STATE_KEY
from relaydesk.models import ApiVersion


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request, group: str, *, require_v3: bool = False) -> Principal:
    state = request.app.state
    limiter = state.limiter
    ip = client_ip(request)
    blocked = limiter.ip_blocked(ip)
    if blocked:
        raise RateLimited(blocked)
    try:
        principal: Principal = await state.authenticator.authenticate_header(
            request.headers.get("authorization")
        )
    except InvalidAuth:
        await limiter.auth_failure(ip)  # wrong credentials count towards the IP's guard
        raise
    if require_v3 and principal.api_version != ApiVersion.V3:
        raise InvalidAuth("This is a v2 API token; /api/v3 needs a v3 API key.")
    decision = await limiter.hit(
        principal.workspace_id, principal.token_id, group, principal.limits
    )
    request.scope.setdefault("state", {})[STATE_KEY] = decision
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
    request.state.principal = principal
    return principal
