"""v3: exchange an API key for a JWT, show the caller, publish the JWT verification keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from relaydesk.config import Settings
from relaydesk.infra.http.deps import Session, V3Principal
from relaydesk.infra.http.guard import authenticate_with
from relaydesk.platform.jwts import service
from relaydesk.platform.jwts.keys import KeyRing
from relaydesk.platform.jwts.schemas import ErrorOut, JwtCreate, JwtOut, MeOut

router = APIRouter()

JWKS_MAX_AGE = 60  # seconds clients may cache the JWKS (a rotated-in kid: fetch it again)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.jwt_keys
    return ring


@router.post(
    "/api/v3/jwts",
    tags=["jwts"],
    response_model=JwtOut,
    summary="Exchange a v3 API key for a JWT",
    responses={
        400: {"model": ErrorOut, "description": "No `api_key` in the body."},
        401: {"model": ErrorOut, "description": "A v2, deleted, expired or unknown key."},
        429: {"model": ErrorOut, "description": "The key's rate limit, or too many bad keys."},
    },
)
async def create_jwt(request: Request, session: Session, data: JwtCreate) -> JwtOut:
    """Returns a JWT (ES256, `typ: at+jwt`) valid for 15 minutes that works wherever the v3
    API key does: send it as `Authorization: Bearer <token>`. Deleting the key stops its JWTs
    too. In Swagger UI: *Try it out* with your key, copy `token`, press *Authorize* and paste
    it under **Bearer**, then call `GET /api/v3/me`. Verify JWTs with the keys at
    `/.well-known/jwks.json`."""
    state = request.app.state
    # guessing keys here counts like a bad header; the exchange counts against the key's limit
    principal = await authenticate_with(
        request, "v3", lambda: service.principal_for_key(state.authenticator, data.api_key)
    )
    settings: Settings = state.settings
    out = await service.issue(session, _ring(request), settings, principal)
    await session.commit()  # a signing key created for this first JWT
    return out


@router.get(
    "/api/v3/me",
    response_model=MeOut,
    tags=["me"],
    summary="Who am I",
    responses={401: {"model": ErrorOut, "description": "No credential, or not a valid one."}},
)
async def get_me(principal: V3Principal) -> MeOut:
    """The caller as the server sees it: workspace, user and role, the API key behind the
    credential, how it authenticated (`api_key`, `jwt` or `oauth`) and its scopes. The
    simplest call to try after *Authorize*."""
    return service.me(principal)


@router.get(
    "/.well-known/jwks.json",
    tags=["jwts"],
    summary="JWT verification keys (JWKS)",
    response_description="RFC 7517 JSON Web Key Set: the public keys that verify Relaydesk's "
    "JWTs, by `kid`.",
)
async def jwks(request: Request, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return (await _ring(request).ring()).jwks
