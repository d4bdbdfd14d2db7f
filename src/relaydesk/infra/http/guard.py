"""The one entry for authenticated requests on every door: brute-force guard, authentication,
rate limit. Sets ``request.state.ratelimit`` for the response headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from relaydesk.exceptions import InvalidAuth, RateLimited
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.ratelimit.headers import STATE_KEY
from relaydesk.models import ApiVersion


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request, group: str, *, require_v3: bool = False) -> Principal:
    """The principal of the request's ``Authorization`` header, guarded and rate-limited."""
    authenticator = request.app.state.authenticator
    header = request.headers.get("authorization")
    return await authenticate_with(
        request, group, lambda: authenticator.authenticate_header(header), require_v3=require_v3
    )


async def authenticate_with(
    request: Request,
    group: str,
    resolve: Callable[[], Awaitable[Principal]],
    *,
    require_v3: bool = False,
) -> Principal:
    """``resolve()`` (a credential to a principal) behind the same guard as every door: an IP
    blocked for too many bad credentials is refused first, a failure counts towards that
    block, and the principal's rate limit is hit for endpoint group ``group``."""
    state = request.app.state
    limiter = state.limiter
    ip = client_ip(request)
    blocked = limiter.ip_blocked(ip)
    if blocked:
        raise RateLimited(blocked)
    try:
        principal = await resolve()
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
