"""One table from domain errors to each door's rendering.

* REST v2 (``/api/v2/``): RapidPro / Django REST framework shapes. Authentication failures
  are **403** ``{"detail": ...}`` (what RapidPro returns and its client expects); validation
  errors 400 ``{"field": ["message"]}``; 404/405/409 ``{"detail": ...}``.
* RPC (``/api/rpc/``): ``{"ok": false, "error": code, "message": ...}`` with the HTTP status.
* Everything else (v3, OAuth, portal JSON): ``{"error": code, "detail": ...}``; 401 carries
  ``WWW-Authenticate: Bearer``. Validation errors add ``"errors": {"field": ["message"]}`` and
  the same lists at the top level (``{"url": [...]}``), except for keys that would clash.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from relaydesk.exceptions import (
    InvalidArgs,
    InvalidAuth,
    LimiterUnavailable,
    NotAuthenticated,
    RateLimited,
    RelaydeskError,
)
from relaydesk.infra.http.responses import FastJSONResponse

log = logging.getLogger("relaydesk.errors")

STATUS_CODES = {
    401: "not_authed",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "ratelimited",
}


def door(request: Request) -> str:
    path = request.url.path
    if path.startswith("/api/v2/") or path == "/api/v2":
        return "v2"
    if path.startswith("/api/rpc"):
        return "rpc"
    return "v3"


def _www_authenticate(exc: RelaydeskError) -> dict[str, str]:
    if isinstance(exc, NotAuthenticated):
        return {"WWW-Authenticate": 'Bearer realm="relaydesk"'}
    description = exc.message.replace('"', "'")
    return {
        "WWW-Authenticate": (
            f'Bearer realm="relaydesk", error="invalid_token", error_description="{description}"'
        )
    }


def _retry_headers(exc: RelaydeskError) -> dict[str, str] | None:
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, LimiterUnavailable):
        return {"Retry-After": "1"}
    return None


def render(request: Request, exc: RelaydeskError) -> Response:
    kind = door(request)
    is_auth = isinstance(exc, NotAuthenticated | InvalidAuth)
    if kind == "v2":
        if isinstance(exc, InvalidArgs):
            return FastJSONResponse(exc.errors, status_code=400)
        status = 403 if is_auth else exc.status
        return FastJSONResponse(
            {"detail": exc.message}, status_code=status, headers=_retry_headers(exc)
        )
    body: dict[str, Any]
    if kind == "rpc":
        body = {"ok": False, "error": exc.code, "message": exc.message}
    else:
        body = {"error": exc.code, "detail": exc.message}
    if isinstance(exc, InvalidArgs):
        body["args" if kind == "rpc" else "errors"] = exc.errors  # RPC: per argument
        if kind == "v3":  # also each field's errors at the top level: 400 {"url": [...]}
            for field, messages in exc.errors.items():
                body.setdefault(field, messages)
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    headers = _www_authenticate(exc) if is_auth else _retry_headers(exc)
    return FastJSONResponse(body, status_code=exc.status, headers=headers)


def _validation_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path")]
        key = ".".join(loc) or "non_field_errors"
        errors.setdefault(key, []).append(str(error.get("msg", "Invalid value.")))
    return errors


def install(app: Starlette) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RelaydeskError)
        return render(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        return render(request, InvalidArgs("Invalid arguments.", errors=errors))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail
        headers = getattr(exc, "headers", None)
        if door(request) == "v2":
            return FastJSONResponse(
                {"detail": detail}, status_code=exc.status_code, headers=headers
            )
        code = STATUS_CODES.get(exc.status_code, "error")
        if door(request) == "rpc":
            body: dict[str, Any] = {"ok": False, "error": code, "message": detail}
        else:
            body = {"error": code, "detail": detail}
        return FastJSONResponse(body, status_code=exc.status_code, headers=headers)

    async def unhandled(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        if door(request) == "rpc":
            return FastJSONResponse(
                {"ok": False, "error": "internal_error", "message": "Server Error"}, status_code=500
            )
        return FastJSONResponse({"detail": "Server Error"}, status_code=500)

    app.add_exception_handler(RelaydeskError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unhandled)
