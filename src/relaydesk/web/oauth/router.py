"""The OAuth 2.0 endpoints (docs/auth.md#oauth-20).

* ``GET /oauth/authorize``: sign in first if needed (303 to ``/login?next=…``), then the
  consent page: the application, the workspace and the scopes that would be granted (the
  requested ones the user's role allows). Invalid client or redirect URI: an error page here,
  never a redirect (RFC 6749 §4.1.2.1); other errors go back to the client with ``state``.
* ``POST /oauth/authorize`` (same query): the consent form — hidden ``csrf_token``,
  ``confirm=yes`` grants (303 to the redirect URI with ``code``, or with the token in the
  fragment for the implicit grant), anything else answers ``error=access_denied``.
* ``POST /oauth/token``, ``/oauth/revoke`` (RFC 7009), ``/oauth/introspect`` (RFC 7662):
  form-encoded, RFC error bodies ``{"error", "error_description"}``.
* ``GET /.well-known/oauth-authorization-server`` (RFC 8414).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidScopeError  # type: ignore[import-untyped]
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session as SyncSession
from starlette.responses import HTMLResponse, JSONResponse, Response

from relaydesk.config import Settings
from relaydesk.exceptions import Forbidden, InvalidArgs
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.deps import Session
from relaydesk.infra.http.docs import templates
from relaydesk.models import User, Workspace
from relaydesk.platform.oauth import repository, service
from relaydesk.platform.oauth.server import (
    AUTHORIZE_PATH,
    INTROSPECT_PATH,
    METADATA_PATH,
    NO_STORE,
    REVOKE_PATH,
    TOKEN_PATH,
    Client,
    HttpRequest,
    OAuthServer,
    metadata,
)
from relaydesk.web import csrf
from relaydesk.web import session as web_session

router = APIRouter(include_in_schema=False)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",  # no clickjacking of the consent button
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the query holds state and the PKCE challenge
}


class BadForm(Exception):
    pass


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _read_pairs(request: Request) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body as (name, value) pairs (repeats kept:
    Authlib rejects repeated OAuth parameters); BadForm with the reason otherwise."""
    try:
        return await csrf.read_form_pairs(request)
    except InvalidArgs as exc:
        raise BadForm(exc.message) from None


def _oauth_request(
    request: Request, form: list[tuple[str, str]], *, with_query: bool
) -> HttpRequest:
    """Raises Authlib's InsecureTransportError when RELAYDESK_BASE_URL is plain http on a
    host other than loopback."""
    uri = _settings(request).base_url + request.url.path
    query = parse_qsl(request.url.query, keep_blank_values=True) if with_query else []
    if with_query and request.url.query:
        uri += "?" + request.url.query
    return HttpRequest(request.method, uri, request.headers, query, form)


def _rfc_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


def _error_page(request: Request, status: int, error: str, description: str) -> HTMLResponse:
    html = templates.get_template("oauth/error.html").render(error=error, description=description)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


# -- authorization endpoint ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Consent:
    client_name: str
    workspace_name: str
    scopes: list[tuple[str, str]]
    implicit: bool


@dataclass(frozen=True)
class _Problem:
    error: str
    description: str


def _authorize(
    db: SyncSession,
    settings: Settings,
    oreq: HttpRequest,
    user: User,
    decision: str | None,
) -> tuple[Response | _Consent | _Problem, bool]:
    """Validate the authorization request with Authlib, check the user's membership and
    role, then show consent (``decision`` None) or answer it. Runs inside ``run_sync``."""
    server = OAuthServer(db, settings)
    try:
        grant = server.get_consent_grant(oreq, end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(oreq, error), server.revoked
        return _Problem(error.error, error.get_error_description() or error.error), False
    client: Client = grant.client
    implicit = oreq.payload.response_type == "token"

    def refuse(error: OAuth2Error) -> Response:
        error.redirect_uri = grant.redirect_uri
        error.redirect_fragment = implicit
        error.state = oreq.payload.state
        response: Response = server.handle_error_response(oreq, error)
        return response

    role = repository.member_role_sync(db, client.model.workspace_id, user.id)
    workspace = db.get(Workspace, client.model.workspace_id)
    if role is None or workspace is None or not workspace.is_active:
        return refuse(
            AccessDeniedError("The user is not a member of the application's workspace.")
        ), False
    server.user_scopes = scopes.for_role(role)
    granted = client.get_allowed_scope(oreq.payload.scope)
    if granted is None:
        return refuse(
            InvalidScopeError("The user's role allows none of the requested scopes.")
        ), False
    if decision is None:
        chosen = granted.split()
        return _Consent(
            client.model.name,
            workspace.name,
            [(s, scopes.DESCRIPTIONS[s]) for s in scopes.ALL if s in chosen],
            implicit,
        ), False
    answer: Response = server.create_authorization_response(
        oreq, grant_user=user if decision == "yes" else None, grant=grant
    )
    return answer, server.revoked


async def _authorization(request: Request, session: Session, decision: str | None) -> Response:
    user = await web_session.current_user(request, session)
    if user is None:
        return web_session.login_redirect(request)
    settings = _settings(request)
    try:
        oreq = _oauth_request(request, [], with_query=True)
    except OAuth2Error as error:
        return _error_page(request, 400, error.error, error.get_error_description() or "")
    result, revoked = await session.run_sync(
        lambda db: _authorize(db, settings, oreq, user, decision)
    )
    if isinstance(result, _Problem):
        return _error_page(request, 400, result.error, result.description)
    if isinstance(result, _Consent):
        token = csrf.csrf_token(request)
        html = templates.get_template("oauth/consent.html").render(
            consent=result,
            user=user,
            csrf_token=token,
            action=request.url.path + ("?" + request.url.query if request.url.query else ""),
        )
        page = HTMLResponse(html, headers=PAGE_HEADERS)
        csrf.attach(page, request)
        return page
    if revoked:
        await service.bump(session)
    await session.commit()
    if decision is not None and result.status_code == 302:
        result.status_code = 303  # after a POST (RFC 9700 §4.12)
    return result


@router.get(AUTHORIZE_PATH)
async def authorize(request: Request, session: Session) -> Response:
    return await _authorization(request, session, None)


@router.post(AUTHORIZE_PATH)
async def consent(request: Request, session: Session) -> Response:
    try:
        form = dict(await _read_pairs(request))
    except BadForm as exc:
        return _error_page(request, 400, "invalid_request", str(exc))
    try:
        csrf.check_csrf(request, form.get(csrf.FIELD))
    except Forbidden as exc:
        return _error_page(request, 403, "forbidden", exc.message)
    return await _authorization(request, session, "yes" if form.get("confirm") == "yes" else "no")


# -- token, revocation, introspection -----------------------------------------------------------


async def _endpoint(request: Request, session: Session, endpoint: str | None) -> Response:
    """``endpoint`` None: the token endpoint; else Authlib's endpoint of that name."""
    settings = _settings(request)
    try:
        oreq = _oauth_request(request, await _read_pairs(request), with_query=False)
    except BadForm as exc:
        return _rfc_error("invalid_request", str(exc))
    except OAuth2Error as error:
        return _rfc_error(error.error, error.get_error_description() or "")

    def run(db: SyncSession) -> tuple[Response, bool]:
        server = OAuthServer(db, settings)
        if endpoint is None:
            response: Response = server.create_token_response(oreq)
        else:
            response = server.create_endpoint_response(endpoint, oreq)
        return response, server.revoked

    response, revoked = await session.run_sync(run)
    if revoked:
        await service.bump(session)
    await session.commit()  # also on errors: a replay's revocation must stick
    return response


@router.post(TOKEN_PATH)
async def token(request: Request, session: Session) -> Response:
    return await _endpoint(request, session, None)


@router.post(REVOKE_PATH)
async def revoke(request: Request, session: Session) -> Response:
    return await _endpoint(request, session, "revocation")


@router.post(INTROSPECT_PATH)
async def introspect(request: Request, session: Session) -> Response:
    return await _endpoint(request, session, "introspection")


@router.get(METADATA_PATH)
async def server_metadata(request: Request) -> Any:
    return JSONResponse(metadata(_settings(request)))
