"""Setup > API/Developers: the API host, the workspace's tokens and the API usage.

* ``GET /setup`` → 303 ``/setup/api``.
* ``GET /setup/api?version=v2|v3``: the token list for that API version (Standard v2 tokens,
  Experimental v3 API keys; the choice is remembered in the ``relaydesk_api_version``
  cookie), and the usage against the plan's rate limits with a chart of the last 24 hours.
* ``GET /setup/api/tokens/new?version=v2|v3``: the create form (name, kind, expiry).
* ``POST /setup/api/tokens``: creates the token and answers 201 with the list page showing
  the plaintext once, in that response only (never in a cookie or a redirect). Invalid input
  re-renders the form (400; 403 for a company token asked by a non-administrator).
* ``POST /setup/api/tokens/{id}/delete``: deletes it (303 back with a message).

Administrators see and manage every token of the workspace; other roles their own tokens
(the portal principal scopes :func:`relaydesk.platform.tokens.service.list_tokens`).
Every POST checks CSRF first; the services never commit, the handlers commit once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.exceptions import RelaydeskError
from relaydesk.infra.http.deps import Session
from relaydesk.infra.ratelimit.core import ENDPOINT_GROUPS, HOUR, Usage
from relaydesk.kit.time import as_utc, utcnow
from relaydesk.models import ApiToken, User
from relaydesk.platform.tokens import service as tokens
from relaydesk.platform.tokens.schemas import TokenCreate
from relaydesk.web import csrf
from relaydesk.web.portal.context import (
    PortalContext,
    member_post,
    portal_context,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

VERSION_COOKIE = "relaydesk_api_version"
VERSIONS = ("v2", "v3")
MAX_DAYS = 3650
CHART_HEIGHT = 80
BAR_WIDTH = 10
BAR_GAP = 3


# -- helpers ---------------------------------------------------------------------------------


def _version(request: Request) -> str:
    """``?version=``, else the cookie's, else v2."""
    for value in (request.query_params.get("version"), request.cookies.get(VERSION_COOKIE)):
        if value in VERSIONS:
            return str(value)
    return "v2"


def _posted_version(fields: dict[str, str], default: str) -> str:
    value = fields.get("version", "")
    return value if value in VERSIONS else default


def _remember(response: Response, request: Request, version: str) -> Response:
    if request.cookies.get(VERSION_COOKIE) != version:
        response.set_cookie(
            VERSION_COOKIE,
            version,
            max_age=365 * 86_400,
            path="/",
            httponly=True,
            samesite="lax",
            secure=csrf.secure_cookies(request),
        )
    return response


def _when(value: datetime | None) -> dict[str, str] | None:
    """A date for ``<time>``: machine (ISO, UTC) and human text."""
    if value is None:
        return None
    value = as_utc(value)
    return {"iso": value.strftime("%Y-%m-%dT%H:%M:%SZ"), "text": value.strftime("%Y-%m-%d %H:%M")}


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    kind: str
    api_version: str
    prefix: str
    owner: str
    created: dict[str, str] | None
    last_used: dict[str, str] | None
    expires: dict[str, str] | None
    requests_today: int
    expired: bool


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    hour: str  # "2026-11-23 14:00"
    label: str  # "14:00"
    requests: int


@dataclass(frozen=True)
class UsageView:
    enabled: bool
    available: bool
    minute: int
    minute_limit: int
    day: int
    day_limit: int
    total: int
    peak: int
    bars: list[Bar]
    width: int
    height: int


def _usage_view(request: Request, ctx: PortalContext, counts: Usage | None) -> UsageView:
    state = request.app.state
    enabled = state.settings.rate_limits == "on"
    limits = ctx.principal.limits
    hourly = list((counts.hourly if counts else None) or [0] * 24)[-24:]
    hourly = [0] * (24 - len(hourly)) + hourly
    peak = max(hourly)
    first_hour = (int(state.limiter.clock() // HOUR) - 23) * HOUR
    bars = []
    for i, n in enumerate(hourly):
        height = round(n / peak * CHART_HEIGHT) if peak else 0
        if n and not height:
            height = 1
        start = datetime.fromtimestamp(first_hour + i * HOUR, UTC)
        bars.append(
            Bar(
                x=i * (BAR_WIDTH + BAR_GAP),
                y=CHART_HEIGHT - height,
                height=height,
                hour=start.strftime("%Y-%m-%d %H:%M"),
                label=start.strftime("%H:%M"),
                requests=n,
            )
        )
    return UsageView(
        enabled=enabled,
        available=counts is not None,
        minute=counts.minute if counts else 0,
        minute_limit=limits.minute,
        day=counts.day if counts else 0,
        day_limit=limits.day,
        total=sum(hourly),
        peak=peak,
        bars=bars,
        width=24 * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
        height=CHART_HEIGHT,
    )


async def _list_page(
    request: Request,
    session: AsyncSession,
    ctx: PortalContext,
    version: str,
    *,
    status: int = 200,
    new_token: str | None = None,
    new_name: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    rows: list[tuple[ApiToken, User]] = await tokens.list_tokens(session, ctx.principal)
    counts: Usage | None
    try:
        counts = await request.app.state.limiter.usage(
            ctx.workspace.id, list(ENDPOINT_GROUPS), [t.id for t, _ in rows]
        )
    except RelaydeskError:  # the limiter's store is unreachable
        counts = None
    per_token = counts.tokens if counts else {}
    now = utcnow()
    listed = [
        Row(
            id=t.id,
            name=t.name,
            kind=t.kind,
            api_version="v3" if t.api_version == "v3" else "v2",
            prefix=t.prefix,
            owner=u.email,
            created=_when(t.created_on),
            last_used=_when(t.last_used_on),
            expires=_when(t.expires_on),
            requests_today=per_token.get(t.id, (0, 0))[1],
            expired=t.expires_on is not None and as_utc(t.expires_on) <= now,
        )
        for t, u in rows
    ]
    return render(
        request,
        "portal/api.html",
        ctx,
        status=status,
        active="api",
        section="setup",
        version=version,
        rows=[r for r in listed if r.api_version == version],
        usage=_usage_view(request, ctx, counts),
        new_token=new_token,
        new_name=new_name,
        error=error,
    )


def _form_page(
    request: Request,
    ctx: PortalContext,
    version: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "portal/api_new.html",
        ctx,
        status=status,
        active="api",
        section="setup",
        version=version,
        values=values or {"name": "", "kind": "personal", "expires_in_days": ""},
        errors=errors or {},
    )


def _parse(fields: dict[str, str], is_admin: bool) -> tuple[TokenCreate | None, dict[str, str]]:
    """The form as a TokenCreate, or the errors by field."""
    errors: dict[str, str] = {}
    name = fields.get("name", "").strip()
    kind = fields.get("kind", "personal")
    days_text = fields.get("expires_in_days", "").strip()
    if not name:
        errors["name"] = "Enter a name."
    elif len(name) > 64:
        errors["name"] = "At most 64 characters."
    elif "\x00" in name:
        errors["name"] = "The name contains an invalid character."
    if kind not in ("personal", "company"):
        errors["kind"] = "Choose personal or company."
    elif kind == "company" and not is_admin:
        errors["kind"] = "Only administrators can create company tokens."
    days: int | None = None
    if days_text:
        if not days_text.isascii() or not days_text.isdigit():
            errors["expires_in_days"] = f"Enter a whole number of days (1 to {MAX_DAYS})."
        else:
            days = int(days_text)
            if not 1 <= days <= MAX_DAYS:
                errors["expires_in_days"] = f"Enter a whole number of days (1 to {MAX_DAYS})."
    if errors:
        return None, errors
    data: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "api_version": _posted_version(fields, "v2"),
        "expires_in_days": days,
    }
    try:
        return TokenCreate(**data), {}
    except ValidationError as exc:
        for item in exc.errors():
            field = str(item["loc"][0]) if item.get("loc") else "name"
            errors.setdefault(field if field != "api_version" else "name", str(item["msg"]))
        return None, errors


# -- pages -----------------------------------------------------------------------------------


@router.get("/setup")
async def setup_index() -> RedirectResponse:
    return RedirectResponse("/setup/api", status_code=303)


@router.get("/setup/api")
async def api_page(request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    version = _version(request)
    return _remember(await _list_page(request, session, ctx, version), request, version)


@router.get("/setup/api/tokens/new")
async def new_token_form(request: Request, session: Session) -> Response:
    ctx = await portal_context(request, session)
    if isinstance(ctx, Response):
        return ctx
    version = _version(request)
    return _remember(_form_page(request, ctx, version), request, version)


@router.post("/setup/api/tokens")
async def create_token(request: Request, session: Session) -> Response:
    checked = await member_post(request, session)
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    fields = dict(pairs)
    version = _posted_version(fields, "v2")
    values = {
        "name": fields.get("name", "")[:200],
        "kind": fields.get("kind", "personal"),
        "expires_in_days": fields.get("expires_in_days", "")[:20],
    }
    data, errors = _parse(fields, ctx.is_admin)
    if data is None:
        status = 403 if errors.get("kind", "").startswith("Only administrators") else 400
        return _form_page(request, ctx, version, status=status, values=values, errors=errors)
    try:
        new = await tokens.create_for(session, ctx.principal, data)
    except RelaydeskError as exc:  # raised before anything is written
        field = exc.field if exc.field in ("name", "kind", "expires_in_days") else "name"
        return _form_page(
            request, ctx, version, status=exc.status, values=values, errors={field: exc.message}
        )
    name, plaintext = new.token.name, new.plaintext
    await session.commit()
    response = await _list_page(
        request, session, ctx, version, status=201, new_token=plaintext, new_name=name
    )
    return _remember(response, request, version)


@router.post("/setup/api/tokens/{token_id}/delete")
async def delete_token(request: Request, session: Session, token_id: int) -> Response:
    checked = await member_post(request, session)
    if isinstance(checked, Response):
        return checked
    pairs, ctx = checked
    fields = dict(pairs)
    try:
        token = await tokens.delete(session, ctx.principal, str(token_id))
    except RelaydeskError as exc:  # not found / not allowed: nothing was written
        return await _list_page(
            request,
            session,
            ctx,
            _posted_version(fields, _version(request)),
            status=exc.status,
            error=exc.message,
        )
    name, version = token.name, ("v3" if token.api_version == "v3" else "v2")
    await session.commit()
    return redirect(
        f"/setup/api?version={version}", message=f"Token {name} deleted.", kind="success"
    )
