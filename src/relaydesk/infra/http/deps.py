"""FastAPI dependencies: the database session and the authenticated principal.

The security markers only declare the schemes in OpenAPI (so Swagger UI's *Authorize* works);
the header itself is parsed once, by :mod:`relaydesk.infra.auth.header`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBase, HTTPBearer
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http.guard import authenticate


class _Scheme(SecurityBase):
    async def __call__(self) -> None:
        return None


class TokenScheme(_Scheme):
    def __init__(self) -> None:
        self.scheme_name = "Token"
        self.model = APIKey(
            **{"in": APIKeyIn.header},
            name="Authorization",
            description="RapidPro style, `Authorization: Token <key>`: enter the word `Token`, "
            "a space, then your API key (e.g. `Token rd_…`).",
        )


class BearerScheme(_Scheme):
    def __init__(self) -> None:
        self.scheme_name = "Bearer"
        self.model = HTTPBearer(description="`Authorization: Bearer <key>` (an API key or JWT).")


class BasicScheme(_Scheme):
    def __init__(self) -> None:
        self.scheme_name = "Basic"
        self.model = HTTPBase(
            scheme="basic", description="HTTP Basic with the API key as username or password."
        )


token_scheme = TokenScheme()
bearer_scheme = BearerScheme()
basic_scheme = BasicScheme()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session (one transaction) per request. Handlers that write call ``commit()``;
    anything not committed is rolled back."""
    async with request.app.state.sessionmaker() as session:
        yield session


async def v2_principal(
    request: Request,
    _token: Annotated[None, Depends(token_scheme)],
    _bearer: Annotated[None, Depends(bearer_scheme)],
    _basic: Annotated[None, Depends(basic_scheme)],
) -> Principal:
    """REST v2 style: any API key (v2 or v3) in Token, Bearer or Basic form."""
    return await authenticate(request, "v2")


async def v3_principal(
    request: Request,
    _bearer: Annotated[None, Depends(bearer_scheme)],
    _token: Annotated[None, Depends(token_scheme)],
    _basic: Annotated[None, Depends(basic_scheme)],
) -> Principal:
    """v3: a v3 API key (Bearer preferred; Token and Basic work too). Rate limit group v3."""
    return await authenticate(request, "v3", require_v3=True)


Session = Annotated[AsyncSession, Depends(get_session)]
V2Principal = Annotated[Principal, Depends(v2_principal)]
V3Principal = Annotated[Principal, Depends(v3_principal)]
