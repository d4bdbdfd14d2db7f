"""REST v2: ``/api/v2/workspace.json`` (and ``org.json``, its old name)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from relaydesk.domains.workspace import service
from relaydesk.domains.workspace.schemas import WorkspaceOut
from relaydesk.infra.http.deps import Session, V2Principal
from relaydesk.infra.http.docs import EndpointDoc, render_endpoint
from relaydesk.infra.http.responses import FastJSONResponse

router = APIRouter(prefix="/api/v2", tags=["workspace"])

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

AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"description": 'Missing or invalid token: `{"detail": "..."}`'}
}


async def _workspace(request: Request, session: Session, principal: V2Principal) -> Response:
    wire = await service.read_for(session, principal, request.app.state.workspace_cache)
    return FastJSONResponse(wire)


for _name in ("workspace", "org"):
    router.add_api_route(
        f"/{_name}.json",
        _workspace,
        methods=["GET"],
        response_model=WorkspaceOut,
        responses=AUTH_ERRORS,
        summary="Get the workspace" if _name == "workspace" else "Get the workspace (old name)",
        operation_id=f"v2_{_name}_get",
    )


@router.get("/workspace", include_in_schema=False, response_class=HTMLResponse)
@router.get("/org", include_in_schema=False, response_class=HTMLResponse)
async def workspace_docs(request: Request) -> HTMLResponse:
    return render_endpoint(request, DOC, request.app.state.settings.base_url)
