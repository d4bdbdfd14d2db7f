"""REST v2: ``/api/v2/workspace.json`` (and ``org.json``, its old name)."""

from __future__ import annotations

from typing import Any

from relaydesk.domains.workspace import service
from relaydesk.domains.workspace.schemas import WorkspaceOut
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.docs import EndpointDoc
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request

DOC = EndpointDoc(
    slug="workspace",
    title="Workspace",
    summary="Returns details about the workspace the token belongs to. "
    "Also available under its older name, /api/v2/org.json.",
    model=WorkspaceOut,
    example={
        "uuid": "6a44ca78-a4c2-4862-a7d3-2932f9b3a7c3",
        "name": "Nyaruka",
        "country": "RW",
        "languages": ["eng", "fra"],
        "primary_language": "eng",
        "timezone": "Africa/Kigali",
        "date_style": "day_first",
        "credits": {"used": -1, "remaining": -1},
        "anon": False,
    },
)


async def get_workspace(call: V2Request) -> dict[str, Any]:
    cache = call.state.workspace_cache
    cached = service.cached_for(call.principal, cache)  # no session needed on a hit
    if cached is not None:
        return cached
    return await service.read_for(call.session, call.principal, cache)


endpoint = V2Endpoint(
    doc=DOC,
    aliases=("org",),
    tag="workspace",
    read_scope=scopes.WORKSPACE_READ,
    operations={
        "GET": Operation(get_workspace, summary="Get the workspace", response_model=WorkspaceOut)
    },
)
