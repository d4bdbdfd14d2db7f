"""v3: manage API tokens with an API key (what the portal's API page does)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Response

from relaydesk.infra.http.deps import Session, V3Principal
from relaydesk.infra.http.scoping import API_KEY_ONLY
from relaydesk.platform.tokens import service
from relaydesk.platform.tokens.schemas import TokenCreate, TokenCreated, TokenOut

# not with an OAuth access token, whatever its scopes (docs/auth.md#login-and-scopes)
router = APIRouter(prefix="/api/v3/tokens", tags=["tokens"], dependencies=[API_KEY_ONLY])


@router.get("", response_model=list[TokenOut], summary="List API tokens")
async def list_tokens(session: Session, principal: V3Principal) -> list[TokenOut]:
    """A personal key lists its user's tokens; a company key every token of the workspace."""
    return [service.to_out(t, u) for t, u in await service.list_tokens(session, principal)]


@router.post("", status_code=201, response_model=TokenCreated, summary="Create an API token")
async def create_token(
    session: Session,
    principal: V3Principal,
    data: TokenCreate = Body(default_factory=TokenCreate),
) -> TokenCreated:
    """Creates a token for the calling key's user. The plaintext `token` is shown only here."""
    new = await service.create_for(session, principal, data)
    await session.commit()
    return service.to_created(new)


@router.delete("/{ref}", status_code=204, summary="Delete an API token")
async def delete_token(ref: str, session: Session, principal: V3Principal) -> Response:
    """Deletes by numeric id or visible prefix. The next request with the token fails."""
    await service.delete(session, principal, ref)
    await session.commit()
    return Response(status_code=204)
