"""Composition root: builds the ASGI app, wires infrastructure, mounts the routers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import State
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from relaydesk import __version__
from relaydesk.config import Settings, get_settings
from relaydesk.db.engine import create_engine, create_sessionmaker, sqlite_path
from relaydesk.domains.chats.router import router as chats_widget_router
from relaydesk.domains.contacts import router_v2 as contacts_v2
from relaydesk.domains.fields import router_v2 as fields_v2
from relaydesk.domains.globals import router_v2 as globals_v2
from relaydesk.domains.groups import router_v2 as groups_v2
from relaydesk.domains.labels import router_v2 as labels_v2
from relaydesk.domains.rpc import router as rpc_router
from relaydesk.domains.tickets import router_v2 as tickets_v2
from relaydesk.domains.users import router_v2 as users_v2
from relaydesk.domains.workspace.router_v2 import endpoint as workspace_v2
from relaydesk.infra.auth.authenticator import Authenticator
from relaydesk.infra.cache import EpochCache
from relaydesk.infra.changes import make_watcher
from relaydesk.infra.http import errors
from relaydesk.infra.http.deps import basic_scheme, bearer_scheme, token_scheme
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2 import PREFIX as V2_PREFIX
from relaydesk.infra.http.v2 import V2API
from relaydesk.infra.logging import AccessLogMiddleware, configure_logging
from relaydesk.infra.ratelimit import resolve_limits
from relaydesk.infra.ratelimit.factory import make_limiter
from relaydesk.infra.ratelimit.headers import RateLimitHeadersMiddleware
from relaydesk.platform.jwts import service as jwts
from relaydesk.platform.jwts.router_v3 import router as jwts_v3
from relaydesk.platform.oauth.router_v3 import router as oauth_clients_v3
from relaydesk.platform.tokens.router_v3 import router as tokens_v3
from relaydesk.platform.usage.router_v3 import router as usage_v3
from relaydesk.platform.webhooks.dispatcher import Dispatcher
from relaydesk.platform.webhooks.router_v3 import custom_data_router
from relaydesk.platform.webhooks.router_v3 import router as webhooks_v3
from relaydesk.web.docs_pages import router as docs_router
from relaydesk.web.login import router as login_router
from relaydesk.web.oauth.router import router as oauth_router
from relaydesk.web.portal.routes import router as portal_router

log = logging.getLogger("relaydesk")

DESCRIPTION = """
Relaydesk's HTTP API.

* **REST v2** (`/api/v2/*.json`) is wire-compatible with RapidPro's API v2. Authenticate with
  `Authorization: Token <key>` (or `Bearer <key>`, or HTTP Basic with the key as username or
  password). Missing or invalid credentials get **403** `{"detail": "..."}`, as in RapidPro.
* **v3** (`/api/v3/*`) takes a v3 API key as `Authorization: Bearer <key>`; missing or invalid
  credentials get **401** with `WWW-Authenticate`.
* **JWTs**: `POST /api/v3/jwts` exchanges a v3 API key for a 15-minute JWT that works wherever
  the key does (`Authorization: Bearer <jwt>`): *Try it out*, copy `token`, press
  *Authorize* (Bearer), then call `GET /api/v3/me`. Public keys: `/.well-known/jwks.json`.
"""


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine: AsyncEngine = create_engine(settings)
    watcher = make_watcher(engine, sqlite_path(settings.effective_database_url))
    await watcher.start()
    sessionmaker = create_sessionmaker(engine)
    authenticator = Authenticator(
        sessionmaker,
        watcher,
        cache_max_age=settings.auth_cache_max_age_seconds,
        last_used_resolution=timedelta(seconds=settings.last_used_resolution_seconds),
        limits_for=lambda ws: resolve_limits(
            settings, ws.plan, ws.limit_minute, ws.limit_day, ws.limit_endpoint_hour
        ),
    )
    app.state.limiter = make_limiter(settings)
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.authenticator = authenticator
    jwts.install(app.state, watcher)  # state.jwt_keys; JWTs authenticate (docs/auth.md)
    app.state.workspace_cache = EpochCache(watcher, max_age=settings.auth_cache_max_age_seconds)
    app.state.field_types_cache = EpochCache(watcher, max_age=settings.auth_cache_max_age_seconds)
    flusher = asyncio.create_task(
        authenticator.last_used.run(interval=min(5.0, settings.last_used_resolution_seconds)),
        name="relaydesk-last-used",
    )
    # webhook delivery in this process unless RELAYDESK_WORKER=off (docs/webhooks.md)
    dispatcher = Dispatcher(settings, sessionmaker) if settings.worker == "embedded" else None
    delivering = (
        asyncio.create_task(dispatcher.run(), name="relaydesk-webhooks") if dispatcher else None
    )
    app.state.dispatcher = dispatcher
    try:
        yield
    finally:
        if dispatcher is not None and delivering is not None:
            dispatcher.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(delivering, settings.webhook_timeout_seconds + 5)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await watcher.stop()
        await app.state.limiter.close()
        await engine.dispose()


V2_ENDPOINTS = [
    *contacts_v2.endpoints,
    *groups_v2.endpoints,
    *fields_v2.endpoints,
    *labels_v2.endpoints,
    *globals_v2.endpoints,
    *users_v2.endpoints,
    *tickets_v2.endpoints,
    workspace_v2,
]


class RelaydeskApp:
    """The ASGI application: ``/api/v2/*`` goes straight to the lean REST v2 door (a Starlette
    app), everything else (and the lifespan) to the FastAPI app. Both share one ``state``."""

    def __init__(self, main: FastAPI, v2: ASGIApp) -> None:
        self.fastapi = main
        self.v2 = v2

    @property
    def state(self) -> State:
        return self.fastapi.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(V2_PREFIX + "/"):
            await self.v2(scope, receive, send)
        else:
            await self.fastapi(scope, receive, send)


def _install_openapi(app: FastAPI, v2: V2API) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            paths, schemas = v2.openapi()
            spec["paths"] = {**paths, **spec.get("paths", {})}
            components = spec.setdefault("components", {})
            components.setdefault("schemas", {}).update(schemas)
            components["securitySchemes"] = {
                scheme.scheme_name: scheme.model.model_dump(
                    mode="json", by_alias=True, exclude_none=True
                )
                for scheme in (token_scheme, bearer_scheme, basic_scheme)
            }
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


STATIC_DIR = Path(__file__).resolve().parent / "static"  # packaged assets (no CDN)


def create_app(settings: Settings | None = None) -> RelaydeskApp:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Relaydesk API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI is served by the portal with packaged assets (no CDN)
        redoc_url=None,
        default_response_class=FastJSONResponse,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        # the developer portal (which asks for a login first); a login without ``next``
        # lands here too
        return RedirectResponse("/setup/api", status_code=303)

    @app.get("/healthz", tags=["health"], summary="Liveness and database check")
    async def healthz(request: Request) -> Any:
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return FastJSONResponse({"status": "error", "database": "unreachable"}, 503)
        return {"status": "ok", "version": __version__}

    app.include_router(tokens_v3)
    app.include_router(usage_v3)
    app.include_router(webhooks_v3)
    app.include_router(jwts_v3)
    app.include_router(custom_data_router)
    app.include_router(login_router)  # /login, /logout (docs/auth.md#login-and-scopes)
    app.include_router(oauth_clients_v3)
    app.include_router(oauth_router)  # /oauth/*, /.well-known/oauth-authorization-server
    app.include_router(portal_router)  # /setup/* (docs/portal.md)
    app.include_router(rpc_router)  # /api/rpc, /api/rpc/<method> (docs/rpc.md)
    app.include_router(chats_widget_router)  # /widget/{property}/chats… (docs/helpdesk.md)
    app.include_router(docs_router)  # /docs: Swagger UI, vendored assets (no CDN)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    v2 = V2API()
    for endpoint in V2_ENDPOINTS:
        v2.add(endpoint)
    _install_openapi(app, v2)
    v2_app = v2.asgi_app(app.state)
    v2_stack = AccessLogMiddleware(v2_app)  # the v2 door adds rate-limit headers itself
    return RelaydeskApp(app, v2_stack)
