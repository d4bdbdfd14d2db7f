"""v3: register and manage OAuth clients (administrators only; never with an OAuth token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from relaydesk.infra.http.deps import Session, V3Principal
from relaydesk.platform.oauth import service
from relaydesk.platform.oauth.schemas import OAuthClientCreate, OAuthClientCreated, OAuthClientOut
from relaydesk.platform.webhooks.schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid arguments (messages per field)."},
    401: {"model": ErrorOut, "description": "No key, or not a valid v3 key."},
    403: {"model": ErrorOut, "description": "Needs an administrator's or company key."},
    404: {"model": ErrorOut, "description": "No such client in this workspace."},
}

router = APIRouter(prefix="/api/v3/oauth-clients", tags=["oauth"], responses=ERRORS)


@router.get("", response_model=list[OAuthClientOut], summary="List OAuth clients")
async def list_clients(session: Session, principal: V3Principal) -> list[OAuthClientOut]:
    """The workspace's OAuth clients, newest first (never their secrets)."""
    clients = await service.list_clients(session, principal)
    return [service.to_out(c, principal.workspace_uuid) for c in clients]


@router.post(
    "", status_code=201, response_model=OAuthClientCreated, summary="Register an OAuth client"
)
async def create_client(
    session: Session, principal: V3Principal, data: OAuthClientCreate
) -> OAuthClientCreated:
    """Registers an application. Its tokens act as the consenting user in this workspace.
    The response carries the `client_secret` of a confidential client: store it, it is not
    shown again. Public clients get none and must use PKCE."""
    new = await service.create(session, principal, data)
    await session.commit()
    return service.to_created(new)


@router.get("/{client_id}", response_model=OAuthClientOut, summary="Get an OAuth client")
async def get_client(client_id: str, session: Session, principal: V3Principal) -> OAuthClientOut:
    return service.to_out(
        await service.get(session, principal, client_id), principal.workspace_uuid
    )


@router.delete("/{client_id}", status_code=204, summary="Delete an OAuth client")
async def delete_client(client_id: str, session: Session, principal: V3Principal) -> Response:
    """Every token the client holds stops working at once."""
    await service.delete(session, principal, client_id)
    await session.commit()
    return Response(status_code=204)
