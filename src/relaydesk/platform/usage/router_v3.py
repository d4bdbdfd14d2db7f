"""``GET /api/v3/usage``: this minute's and today's request counts, per workspace and token."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from relaydesk.infra.auth import scopes
from relaydesk.infra.http.deps import Session, V3Principal
from relaydesk.infra.http.scoping import requires
from relaydesk.infra.ratelimit.core import ENDPOINT_GROUPS, HOUR, endpoint_quota
from relaydesk.kit.time import format_datetime
from relaydesk.platform.tokens import service as tokens
from relaydesk.platform.usage.schemas import (
    Counter,
    EndpointCounter,
    HourUsage,
    TokenUsage,
    UsageOut,
)

router = APIRouter(prefix="/api/v3", tags=["usage"], dependencies=[requires(scopes.WORKSPACE_READ)])


def _counter(used: int, limit: int) -> Counter:
    return Counter(used=used, limit=limit, remaining=max(0, limit - used))


@router.get("/usage", response_model=UsageOut, summary="API usage against the rate limits")
async def usage(request: Request, session: Session, principal: V3Principal) -> UsageOut:
    """Counts include this request. Token rows follow the token listing scope: a personal
    key sees its user's tokens, a company key all of the workspace's."""
    state = request.app.state
    settings = state.settings
    rows = await tokens.list_tokens(session, principal)
    groups = list(ENDPOINT_GROUPS)
    counts = await state.limiter.usage(principal.workspace_id, groups, [t.id for t, _ in rows])
    limits = principal.limits
    now = state.limiter.clock()
    first_hour = (int(now // HOUR) - 23) * HOUR
    return UsageOut(
        workspace=principal.workspace_uuid,
        plan=principal.plan,
        rate_limits=settings.rate_limits,
        minute=_counter(counts.minute, limits.minute),
        day=_counter(counts.day, limits.day),
        endpoints=[
            EndpointCounter(
                group=g,
                **_counter(
                    counts.endpoints.get(g, 0), endpoint_quota(settings, limits, g)
                ).model_dump(),
            )
            for g in groups
        ],
        tokens=[
            TokenUsage(
                id=t.id,
                prefix=t.prefix,
                name=t.name,
                kind=t.kind,
                minute=counts.tokens.get(t.id, (0, 0))[0],
                day=counts.tokens.get(t.id, (0, 0))[1],
            )
            for t, _ in rows
        ],
        hourly=[
            HourUsage(
                hour=format_datetime(datetime.fromtimestamp(first_hour + i * HOUR, UTC)) or "",
                requests=n,
            )
            for i, n in enumerate(counts.hourly or [0] * 24)
        ],
    )
