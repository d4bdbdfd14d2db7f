"""Setup > OAuth apps: register, list and delete the workspace's OAuth clients (docs/portal.md).

* ``GET /setup/oauth-apps``: the clients (name, client id, redirect URIs, type, created) and
  the "Create app" form.
* ``POST /setup/oauth-apps``: create one. A confidential client's secret is rendered in the
  POST's own response, once (never in a cookie or a redirect); errors re-render the form
  (400, input kept).
* ``POST /setup/oauth-apps/{client_id}/delete``: delete it (its tokens stop working).

Only administrators manage OAuth apps (the OAuth service enforces it): others get a 403 page.
Scopes are not part of a client: an app asks for them when it sends a user to authorize, and
the user's consent (bounded by their role) decides; the page lists them for reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.deps import Session
from relaydesk.platform.oauth import service
from relaydesk.platform.oauth.schemas import MAX_REDIRECT_URIS, OAuthClientCreate, OAuthClientOut
from relaydesk.web.portal.context import (
    PortalContext,
    admin_post,
    portal_context,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

BASE = "/setup/oauth-apps"
NOT_ADMIN = "Only administrators can manage OAuth apps. Ask an administrator of this workspace."


@dataclass
class AppForm:
    name: str = ""
    redirect_uris: str = ""
    client_type: str = "confidential"
    allow_implicit: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def posted(cls, fields: dict[str, str]) -> AppForm:
        kind = fields.get("client_type", "confidential")
        return cls(
            name=fields.get("name", "").strip(),
            redirect_uris=fields.get("redirect_uris", ""),
            client_type=kind if kind in ("confidential", "public") else "confidential",
            allow_implicit=fields.get("allow_implicit") == "1",
        )

    def uris(self) -> list[str]:
        return [line.strip() for line in self.redirect_uris.splitlines() if line.strip()]

    def add(self, name: str, message: str) -> None:
        if message not in self.errors.get(name, []):
            self.errors.setdefault(name, []).append(message)

    def parse(self) -> OAuthClientCreate | None:
        values: dict[str, Any] = {
            "name": self.name,
            "redirect_uris": self.uris(),
            "public": self.client_type == "public",
            "allow_implicit": self.allow_implicit,
        }
        try:
            return OAuthClientCreate.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                loc = error.get("loc", ())
                name = str(loc[0]) if loc else "non_field_errors"
                message = str(error.get("msg", "Invalid value."))
                if name == "name":
                    message = "Enter a name (at most 128 characters)."
                elif name == "redirect_uris" and len(loc) > 1 and isinstance(loc[1], int):
                    message = f"Line {loc[1] + 1} ({self.uris()[loc[1]][:80]}): {message}"
                elif name == "redirect_uris" and error.get("type") == "too_short":
                    message = "Enter at least one redirect URI."
                elif name == "redirect_uris" and error.get("type") == "too_long":
                    message = f"Enter at most {MAX_REDIRECT_URIS} redirect URIs."
                elif name not in ("name", "redirect_uris"):
                    name = "non_field_errors"
                self.add(name, message)
            return None


def _page(
    request: Request, template: str, ctx: PortalContext, *, status: int = 200, **values: Any
) -> HTMLResponse:
    return render(request, template, ctx, status=status, section="setup", active="oauth", **values)


def _denied(request: Request, ctx: PortalContext, message: str = NOT_ADMIN) -> HTMLResponse:
    return _page(request, "portal/oauth_apps_denied.html", ctx, status=403, message=message)


async def _list(session: Session, ctx: PortalContext) -> list[OAuthClientOut]:
    clients = await service.list_clients(session, ctx.principal)
    return [service.to_out(c, ctx.workspace.uuid) for c in clients]


async def _list_page(
    request: Request,
    session: Session,
    ctx: PortalContext,
    data: AppForm | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "portal/oauth_apps.html",
        ctx,
        status=status,
        apps=await _list(session, ctx),
        data=data or AppForm(),
        scopes=[(s, scopes.DESCRIPTIONS[s]) for s in scopes.ALL],
        max_uris=MAX_REDIRECT_URIS,
    )


@router.get("/setup/oauth-apps")
async def list_page(request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    if not ctx.is_admin:
        return _denied(request, ctx)
    try:
        return await _list_page(request, session, ctx)
    except Forbidden as exc:
        return _denied(request, ctx, exc.message)


@router.post("/setup/oauth-apps")
async def create(request: Request, session: Session) -> Response:
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    data = AppForm.posted(dict(pairs))
    parsed = data.parse()
    if parsed is None:
        return await _list_page(request, session, ctx, data, status=400)
    try:
        new = await service.create(session, ctx.principal, parsed)
    except Forbidden as exc:
        return _denied(request, ctx, exc.message)
    except InvalidArgs as exc:
        for key, messages in exc.errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                data.add(key if key in ("name", "redirect_uris") else "non_field_errors", message)
        return await _list_page(request, session, ctx, data, status=400)
    created = service.to_created(new)
    await session.commit()
    return _page(request, "portal/oauth_apps_created.html", ctx, status=201, app=created)


@router.post("/setup/oauth-apps/{client_id}/delete")
async def delete(client_id: str, request: Request, session: Session) -> Response:
    checked = await admin_post(request, session, lambda ctx: _denied(request, ctx))
    if isinstance(checked, Response):
        return checked
    _, ctx = checked
    try:
        client = await service.delete(session, ctx.principal, client_id)
    except Forbidden as exc:
        return _denied(request, ctx, exc.message)
    except NotFound:
        return _page(
            request,
            "portal/oauth_apps_denied.html",
            ctx,
            status=404,
            message="No such OAuth app in this workspace.",
            title="Not found",
        )
    name = client.name
    await session.commit()
    return redirect(
        BASE, message=f"OAuth app {name} deleted; its tokens no longer work.", kind="success"
    )
