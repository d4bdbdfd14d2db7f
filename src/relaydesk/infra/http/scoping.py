"""v3 scope checks as FastAPI router dependencies (docs/auth.md#login-and-scopes).

``APIRouter(..., dependencies=[requires(scopes.WEBHOOKS_MANAGE)])`` makes every route of the
router need that API scope on top of its own role checks; ``API_KEY_ONLY`` refuses OAuth
access tokens outright. The principal comes from the same (per-request cached) ``v3_principal``
dependency the routes use, so the request is authenticated and rate-limited once.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from relaydesk.infra.auth import scopes
from relaydesk.infra.http.deps import V3Principal


def requires(scope: str) -> Any:
    """A dependency: 403 (the v3 error shape, naming ``scope``) unless the caller has it."""

    async def check_scope(principal: V3Principal) -> None:
        scopes.require(principal, scope)

    check_scope.__name__ = f"requires_{scope.replace(':', '_')}"
    return Depends(check_scope)


async def _api_key_only(principal: V3Principal) -> None:
    scopes.require_api_key(principal)


API_KEY_ONLY: Any = Depends(_api_key_only)
