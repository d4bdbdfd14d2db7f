"""What every portal page needs: the signed-in user, their current workspace and role, and a
:class:`Principal` to call the same services the API calls.

The principal acts as the user with their role; administrators act for the whole workspace
(company scope: every token, every webhook), other roles for their own rows (personal scope:
they never see another user's personal tokens).

Workspace: ``?workspace=<uuid>`` (remembered in the ``relaydesk_workspace`` cookie), else the
cookie's, else the user's oldest membership.

Usage in a page::

    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx                      # 303 to /login?next=…, or 403 without a workspace
    return render(request, "portal/api.html", ctx, tokens=...)

POST handlers start with ``await member_post(request, session)`` (or :func:`admin_post`): the
CSRF-checked form and the context, or the page to return (refused post, login redirect,
denied). They answer with a 303 to a GET page (post/redirect/get), carrying a one-time message
through :func:`flash` — except a page showing a secret once, which is the POST's own response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.exceptions import Forbidden, InvalidArgs
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http.docs import templates
from relaydesk.models import Membership, Role, TokenKind, User, Workspace
from relaydesk.web import csrf
from relaydesk.web import session as web_session

WORKSPACE_COOKIE = "relaydesk_workspace"
FLASH_COOKIE = "relaydesk_flash"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


@dataclass
class PortalContext:
    user: User
    workspace: Workspace
    role: Role
    principal: Principal
    workspaces: list[Workspace]  # every workspace the user belongs to (the switcher)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMINISTRATOR


async def portal_context(request: Request, session: AsyncSession) -> PortalContext | Response:
    """The context, or the response to return instead (login redirect; 403 page when the user
    belongs to no workspace)."""
    user = await web_session.current_user(request, session)
    if user is None:
        return web_session.login_redirect(request)
    rows = (
        await session.execute(
            select(Workspace, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user.id, Workspace.is_active.is_(True))
            .order_by(Membership.id)
        )
    ).all()
    if not rows:
        return HTMLResponse(
            "<p>Your account belongs to no workspace. Ask an administrator to add you.</p>",
            status_code=403,
            headers=PAGE_HEADERS,
        )
    wanted = request.query_params.get("workspace") or request.cookies.get(WORKSPACE_COOKIE)
    chosen = next((r for r in rows if r[0].uuid == wanted), rows[0])
    workspace, role_value = chosen[0], Role(chosen[1])
    principal = request.app.state.authenticator.member(
        user,
        workspace,
        role_value.value,
        token_id=None,
        token_kind=TokenKind.COMPANY if role_value is Role.ADMINISTRATOR else TokenKind.PERSONAL,
        api_version="v3",
        credential="portal",
    )
    return PortalContext(user, workspace, role_value, principal, [r[0] for r in rows])


def render(
    request: Request,
    template: str,
    ctx: PortalContext,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render a page of ``templates/portal/`` with the layout's values (user, workspace,
    csrf_token, base_url, flash message, the active menu entry ``active``)."""
    token = csrf.csrf_token(request)
    flash_message = _read_flash(request)
    html = templates.get_template(template).render(
        request=request,
        ctx=ctx,
        user=ctx.user,
        workspace=ctx.workspace,
        is_admin=ctx.is_admin,
        csrf_token=token,
        base_url=request.app.state.settings.base_url or str(request.base_url).rstrip("/"),
        flash=flash_message,
        **values,
    )
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    csrf.attach(response, request)
    if flash_message is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if request.query_params.get("workspace") == ctx.workspace.uuid:
        response.set_cookie(
            WORKSPACE_COOKIE,
            ctx.workspace.uuid,
            path="/",
            httponly=True,
            samesite="lax",
            secure=csrf.secure_cookies(request),
        )
    return response


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """A posted form as (name, value) pairs (repeated names kept) after the CSRF check
    (Forbidden → 403 when it fails)."""
    pairs = await csrf.read_form_pairs(request)
    csrf.check_csrf(request, dict(pairs).get("csrf_token"))
    return pairs


def refused(message: str, status: int = 403) -> HTMLResponse:
    """A bare page for a refused post (CSRF failure, a body that is not a form): no layout
    (the post was not read, so no signed-in user is known yet), no secrets."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Refused · Relaydesk</title><link rel="stylesheet" href="/static/portal.css">'
        '</head><body><main id="content"><h1>The form was refused</h1>'
        f'<p class="flash flash-error" role="alert">{escape(message)}</p>'
        '<p><a href="/setup">Back to Setup</a></p></main></body></html>'
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


async def posted_pairs(request: Request) -> list[tuple[str, str]] | Response:
    """The posted form (repeated names kept) after the CSRF check, or the :func:`refused` page
    (403: a body that is not a form carries no CSRF token either)."""
    try:
        return await form_pairs(request)
    except (Forbidden, InvalidArgs) as exc:
        return refused(exc.message)


async def member_post(
    request: Request,
    session: AsyncSession,
    denied: Callable[[PortalContext], Response] | None = None,
) -> tuple[list[tuple[str, str]], PortalContext] | Response:
    """A post by a signed-in member: the form (CSRF checked, repeated names kept) and the
    context, or the page to return instead (refused post, login redirect; with ``denied``, only
    administrators may post and ``denied(ctx)`` answers the others)."""
    pairs = await posted_pairs(request)
    if isinstance(pairs, Response):
        return pairs
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    if denied is not None and not ctx.is_admin:
        return denied(ctx)
    return pairs, ctx


async def admin_post(
    request: Request,
    session: AsyncSession,
    denied: Callable[[PortalContext], Response],
) -> tuple[list[tuple[str, str]], PortalContext] | Response:
    """:func:`member_post` for a post only administrators may make."""
    return await member_post(request, session, denied)


def redirect(path: str, *, message: str | None = None, kind: str = "info") -> RedirectResponse:
    """303 to ``path`` (post/redirect/get), with a one-time message shown by the next page."""
    response = RedirectResponse(path, status_code=303)
    if message:
        flash(response, message, kind)
    return response


def flash(response: Response, message: str, kind: str = "info") -> None:
    """A message for the next page (``kind``: info, success, error). Never a secret: a token's
    plaintext is rendered in the POST's own response, not carried in a cookie."""
    response.set_cookie(
        FLASH_COOKIE,
        quote(json.dumps({"message": message, "kind": kind})),
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
    )


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    from urllib.parse import unquote

    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("message"), str):
        return None
    return {"message": value["message"][:500], "kind": str(value.get("kind", "info"))}
