"""The REST v2 door: a small Starlette application with RapidPro's conventions.

Why not FastAPI routes: measured on this machine class, FastAPI's per-request dependency
solving and middleware cost more than half of a request's budget (see
docs/decisions/0002-rest-v2-on-starlette.md), and REST v2 has its own wire rules (DRF-style
errors, 403 for missing credentials) that FastAPI's validation would have to be undone for.

Each endpoint is declared once (:class:`V2Endpoint`) and that declaration gives:

* ``/api/v2/<slug>.json`` (and aliases): authenticated, errors rendered the RapidPro way;
* ``/api/v2/<slug>``: the HTML documentation page, from the same Pydantic model;
* the endpoint's OpenAPI operations (merged into ``/openapi.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, RelaydeskError
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import WRITE, Principal
from relaydesk.infra.http import drf, errors
from relaydesk.infra.http.docs import EndpointDoc, render_endpoint, render_index
from relaydesk.infra.http.guard import authenticate
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2params import read_json
from relaydesk.infra.ratelimit.headers import STATE_KEY as RATELIMIT_STATE
from relaydesk.infra.ratelimit.headers import raw_headers
from relaydesk.kit.validation import NUL_MESSAGE

log = logging.getLogger("relaydesk.v2")

SECURITY: list[dict[str, list[str]]] = [{"Token": []}, {"Bearer": []}, {"Basic": []}]
PREFIX = "/api/v2"
CONFLICT = "This conflicts with a change made at the same time; retry the request."


class V2Request:
    """What a v2 handler gets: the request, the caller and a session.

    The session is created on first use (a cached read needs none). Handlers that write call
    ``await call.session.commit()``; anything uncommitted is rolled back."""

    __slots__ = ("_session", "principal", "request", "state")

    def __init__(self, request: Request, principal: Principal, state: State) -> None:
        self.request = request
        self.principal = principal
        self.state = state
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.state.sessionmaker()
        return self._session

    async def close(self) -> None:
        """Roll back whatever was not committed. A session that never began a transaction
        holds no connection, so it needs no (comparatively costly) close."""
        if self._session is not None and self._session.in_transaction():
            await self._session.close()


Handler = Callable[[V2Request], Awaitable[Any]]


def delete_by_uuid(
    delete: Callable[[AsyncSession, Principal, str | None], Awaitable[Any]],
) -> Handler:
    """``DELETE ?uuid=…`` → 204: ``delete(session, principal, uuid)`` raises for a missing or
    invalid uuid; the handler commits."""

    async def handler(call: V2Request) -> Response:
        await delete(call.session, call.principal, call.request.query_params.get("uuid"))
        await call.session.commit()
        return Response(status_code=204)

    return handler


class _Written(Protocol):
    @property
    def created(self) -> bool: ...


TargetT = TypeVar("TargetT")
WrittenT = TypeVar("WrittenT", bound=_Written)


def write_by(
    param: str,
    resolve: Callable[[AsyncSession, Principal, str | None], Awaitable[TargetT]],
    write: Callable[[AsyncSession, Principal, TargetT, Any], Awaitable[WrittenT]],
    render: Callable[[WrittenT], Any],
) -> Handler:
    """``POST`` (``?<param>=…`` to update) → 201 with the object when it was created, 200 when
    updated: ``resolve(session, principal, ref)`` finds what ``?<param>`` names (or raises),
    ``write`` applies the JSON body, ``render`` gives the result's wire dict; commits."""

    async def handler(call: V2Request) -> Response:
        target = await resolve(call.session, call.principal, call.request.query_params.get(param))
        data = await read_json(call.request)
        result = await write(call.session, call.principal, target, data)
        wire = render(result)
        await call.session.commit()
        return FastJSONResponse(wire, status_code=201 if result.created else 200)

    return handler


@dataclass(frozen=True)
class Operation:
    handler: Handler
    summary: str
    response_model: type[BaseModel] | None = None
    status_code: int = 200
    paginated: bool = False  # the response is {"next", "previous", "results": [response_model]}
    body_model: type[BaseModel] | None = None  # the JSON body (documentation / OpenAPI)


@dataclass
class V2Endpoint:
    doc: EndpointDoc
    operations: Mapping[str, Operation]
    aliases: tuple[str, ...] = ()
    tag: str = ""
    rate_group: str = "v2"  # hourly endpoint limit group (v2, v2.contacts, v2.messages, v2.runs)
    # API scopes (relaydesk.infra.auth.scopes) for GET and for the other methods. None: not
    # open to OAuth access tokens at all (API keys are limited by their role only).
    read_scope: str | None = None
    write_scope: str | None = None

    @property
    def slugs(self) -> tuple[str, ...]:
        return (self.doc.slug, *self.aliases)


class StaticPathRouter(Router):
    """REST v2 paths have no parameters: find the route with one dict lookup instead of trying
    every route's regex in turn (which grows with each endpoint added). Anything not found
    falls back to Starlette's matching (404, slash redirects)."""

    def __init__(self, routes: list[Route]) -> None:
        super().__init__(routes=routes)
        self._by_path = {route.path: route for route in routes}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._by_path.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None:
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update({"endpoint": route.endpoint, "path_params": {}})
        await route.handle(scope, receive, send)


@dataclass
class V2API:
    endpoints: list[V2Endpoint] = field(default_factory=list)

    def add(self, endpoint: V2Endpoint) -> None:
        self.endpoints.append(endpoint)

    # -- serving ---------------------------------------------------------------------------
    def _data_route(self, endpoint: V2Endpoint, slug: str) -> Route:
        async def handle(request: Request) -> Response:
            state = request.app.state
            try:
                principal = await authenticate(request, endpoint.rate_group)
                operation = endpoint.operations.get(request.method)
                if operation is None:
                    return FastJSONResponse(
                        {"detail": f'Method "{request.method}" not allowed.'}, status_code=405
                    )
                if request.scope.get("query_string"):
                    for name, value in request.query_params.multi_items():
                        if "\x00" in value:
                            raise InvalidArgs(NUL_MESSAGE, errors={name: [NUL_MESSAGE]})
                reading = request.method in ("GET", "HEAD")
                if not reading and not principal.has_scope(WRITE):
                    raise Forbidden(drf.PERMISSION_DENIED)
                scope = endpoint.read_scope if reading else endpoint.write_scope
                if scope is not None:
                    scopes.require(principal, scope)
                elif scopes.is_oauth(principal):
                    raise Forbidden(drf.PERMISSION_DENIED)
                call = V2Request(request, principal, state)
                try:
                    result = await operation.handler(call)
                except IntegrityError:
                    # a unique index caught what the service's own check could not see yet:
                    # another request created the same name/key concurrently
                    log.info("integrity conflict", extra={"path": request.url.path})
                    raise Conflict(CONFLICT) from None
                finally:
                    await call.close()
            except RelaydeskError as exc:
                response = errors.render(request, exc)
            else:
                if isinstance(result, Response):
                    response = result
                else:
                    response = FastJSONResponse(result, status_code=operation.status_code)
            decision = request.scope.get("state", {}).get(RATELIMIT_STATE)
            if decision is not None:
                response.raw_headers.extend(raw_headers(decision))
            return response

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return Route(f"{PREFIX}/{slug}.json", handle, methods=methods)

    def _doc_route(self, endpoint: V2Endpoint, slug: str) -> Route:
        async def page(request: Request) -> Response:
            return render_endpoint(
                request,
                endpoint.doc,
                request.app.state.settings.base_url,
                tuple(endpoint.operations),
            )

        return Route(f"{PREFIX}/{slug}", page, methods=["GET"])

    def _index_route(self) -> Route:
        async def index(request: Request) -> Response:
            return render_index(
                request,
                [
                    (endpoint.doc, slug, tuple(endpoint.operations))
                    for endpoint in self.endpoints
                    for slug in endpoint.slugs
                ],
                request.app.state.settings.base_url,
            )

        return Route(f"{PREFIX}/", index, methods=["GET"])

    def routes(self) -> list[Route]:
        routes = [self._index_route()]
        for endpoint in self.endpoints:
            for slug in endpoint.slugs:
                routes.append(self._data_route(endpoint, slug))
                routes.append(self._doc_route(endpoint, slug))
        return routes

    def asgi_app(self, state: State) -> Starlette:
        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return FastJSONResponse({"detail": exc.detail}, status_code=exc.status_code)

        async def unhandled(request: Request, exc: Exception) -> Response:
            log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
            return FastJSONResponse({"detail": "Server Error"}, status_code=500)

        app = Starlette(exception_handlers={HTTPException: http_error, Exception: unhandled})
        app.router = StaticPathRouter(self.routes())
        app.state = state
        return app

    # -- OpenAPI ---------------------------------------------------------------------------
    def openapi(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(paths, component schemas) for every endpoint and alias."""
        models = {
            model
            for endpoint in self.endpoints
            for op in endpoint.operations.values()
            for model in (op.response_model, op.body_model)
            if model is not None
        }
        refs, top = models_json_schema(
            [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
        )
        schemas: dict[str, Any] = dict(top.get("$defs", {}))
        paths: dict[str, Any] = {}
        for endpoint in self.endpoints:
            for slug in endpoint.slugs:
                item: dict[str, Any] = {}
                for method, op in endpoint.operations.items():
                    responses: dict[str, Any] = {
                        "403": {"description": 'Missing or invalid token: `{"detail": "..."}`'},
                        "429": {
                            "description": "Rate limited; see the `Retry-After` header. "
                            '`{"detail": "Request was throttled. Expected available in N '
                            'seconds."}`'
                        },
                    }
                    if op.response_model is not None:
                        ref = refs[(op.response_model, "serialization")]
                        schema = _page_schema(ref) if op.paginated else ref
                        responses[str(op.status_code)] = {
                            "description": "Success",
                            "content": {"application/json": {"schema": schema}},
                        }
                    else:
                        responses[str(op.status_code)] = {"description": "Success"}
                    summary = op.summary if slug == endpoint.doc.slug else f"{op.summary} (alias)"
                    scope = endpoint.read_scope if method == "GET" else endpoint.write_scope
                    needs = f"\n\nOAuth scope: `{scope}`" if scope else ""
                    item[method.lower()] = {
                        "tags": [endpoint.tag or endpoint.doc.slug],
                        "summary": summary,
                        "description": f"{endpoint.doc.summary}\n\nDocs: `{PREFIX}/{slug}`" + needs,
                        "operationId": f"v2_{slug}_{method.lower()}",
                        "parameters": [
                            {
                                "name": f.name,
                                "in": "query",
                                "required": False,
                                "description": f.description,
                                "schema": {"type": "string"},
                            }
                            for f in endpoint.doc.filters
                        ],
                        "responses": responses,
                        "security": SECURITY,
                    }
                    if op.body_model is not None:
                        item[method.lower()]["requestBody"] = {
                            "required": False,
                            "content": {
                                "application/json": {
                                    "schema": refs[(op.body_model, "serialization")]
                                }
                            },
                        }
                paths[f"{PREFIX}/{slug}.json"] = item
        return paths, schemas


def _page_schema(item: dict[str, Any]) -> dict[str, Any]:
    link = {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]}
    return {
        "type": "object",
        "required": ["next", "previous", "results"],
        "properties": {
            "next": {**link, "description": "The next page, or null on the last page."},
            "previous": {**link, "description": "The previous page, or null on the first."},
            "results": {"type": "array", "items": item},
        },
    }
