"""The RPC door: ``POST /api/rpc/<method>``, a registry of methods, dispatch and rendering.

Each domain declares its methods in its own ``rpc.py``::

    methods = Methods()

    @methods.method("webhook.delete", scope=scopes.WEBHOOKS_MANAGE)
    async def delete(call: Call, args: WebhookRef) -> Done:
        \"\"\"Delete a webhook.\"\"\"
        await service.delete(call.session, call.principal, args.uuid)
        return Done()

The handler's annotations are the contract: its second parameter's type (a Pydantic model
that forbids unknown fields) validates the arguments, its return type is the result shape;
its docstring's first paragraph is the summary, the rest the description. A
:class:`Registry` of every domain's ``methods`` builds the router (``GET /api/rpc`` lists the
methods with their schemas) and the generated docs (:mod:`relaydesk.infra.http.rpc_docs`).

Every call: the method is looked up (``method_not_found``), the caller authenticated and
rate-limited in endpoint group ``rpc`` (:func:`relaydesk.infra.http.guard.authenticate`), the
method's scope checked (``forbidden``), the body read (JSON or form, at most
:data:`MAX_BODY` bytes) and validated (``invalid_args`` with messages per argument); then the
handler runs in one session which is committed once, on success only. Replies are JSON
objects with a boolean ``ok``: ``{"ok": true, ...result}`` or
``{"ok": false, "error": code, "message": ...}``.
"""

from __future__ import annotations

import logging
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request
from starlette.responses import Response

from relaydesk.config import Settings
from relaydesk.exceptions import Forbidden, InvalidArgs, RelaydeskError
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import errors
from relaydesk.infra.http.guard import authenticate
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2params import field_errors
from relaydesk.kit import cursors
from relaydesk.kit.parse import parse_datetime
from relaydesk.kit.time import format_datetime
from relaydesk.kit.validation import NUL_MESSAGE

log = logging.getLogger("relaydesk.rpc")

PREFIX = "/api/rpc"
GROUP = "rpc"  # the rate limiter's endpoint group
MAX_BODY = 1_000_000  # bytes
NON_FIELD = "non_field_errors"
FORM = "application/x-www-form-urlencoded"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
RESERVED = frozenset({"ok", "error", "message"})  # reply keys a result may not use


class MethodNotFound(RelaydeskError):
    code = "method_not_found"
    status = 404


class Args(BaseModel):
    """Base for argument models: unknown arguments are an ``invalid_args`` error."""

    model_config = ConfigDict(extra="forbid")


class NoArgs(Args):
    """A method without arguments."""


NOT_A_DATETIME = "Not a valid ISO 8601 date/time."


def _iso_datetime(value: Any) -> Any:
    """ISO 8601 (a date is its midnight, UTC; without an offset, UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(NOT_A_DATETIME)
    return parsed


# an optional date/time argument, read as REST v2 reads them (``since``/``until`` filters)
IsoDatetime = Annotated[datetime | None, BeforeValidator(_iso_datetime)]

MAX_PAGE = 1000  # items per page a list method returns at most


class PageArgs(Args):
    """Base for list methods' arguments: ``cursor`` and ``limit`` (pass ``limit or
    call.settings.page_size`` and ``cursor`` to :func:`cursor_page`)."""

    cursor: str | None = Field(
        default=None, description="The previous reply's `next`, for the following page."
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PAGE,
        description="Items per page (default: the server's page size, 250).",
    )


class Done(BaseModel):
    """A result with nothing more than ``"ok": true``."""


@dataclass(frozen=True, slots=True)
class Call:
    """What a method gets besides its arguments: the session (one transaction; never commit
    it, the door does on success), the authenticated caller and the request."""

    request: Request
    session: AsyncSession
    principal: Principal

    @property
    def state(self) -> Any:
        return self.request.app.state

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings


A = TypeVar("A", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
Handler = Callable[[Call, A], Awaitable[R]]


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    description: str
    scope: str | None  # None: any authenticated caller
    args: type[BaseModel]
    result: type[BaseModel]
    handler: Callable[[Call, Any], Awaitable[BaseModel]]
    example_args: dict[str, Any] = field(default_factory=dict)
    example_result: dict[str, Any] = field(default_factory=dict)


def _docstring(func: Callable[..., Any]) -> tuple[str, str]:
    text = (func.__doc__ or "").strip()
    if not text:
        raise TypeError(f"{func.__qualname__}: an RPC method needs a docstring (its summary)")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return paragraphs[0], "\n\n".join(paragraphs[1:])


def make_method(
    name: str,
    handler: Callable[[Call, Any], Awaitable[BaseModel]],
    *,
    scope: str | None,
    example_args: dict[str, Any] | None = None,
    example_result: dict[str, Any] | None = None,
) -> Method:
    """A :class:`Method` from ``handler``'s annotations and docstring (checked here, at import
    time: a bad declaration fails the app's start, not a call)."""
    if not _NAME.match(name):
        raise ValueError(f"RPC method name {name!r}: lowercase words joined by dots")
    if scope is not None and scope not in scopes.ALL:
        raise ValueError(f"RPC method {name}: unknown scope {scope!r}")
    hints = typing.get_type_hints(handler)
    params = [p for p in hints if p != "return"]
    if len(params) != 2:
        raise TypeError(f"RPC method {name}: the handler takes (call: Call, args: <Args model>)")
    args, result = hints[params[1]], hints.get("return")
    if not (isinstance(args, type) and issubclass(args, BaseModel)):
        raise TypeError(f"RPC method {name}: arguments must be a Pydantic model")
    if args.model_config.get("extra") != "forbid":
        raise TypeError(f"RPC method {name}: {args.__name__} must forbid unknown arguments")
    if not (isinstance(result, type) and issubclass(result, BaseModel)):
        raise TypeError(f"RPC method {name}: the result must be a Pydantic model")
    clash = RESERVED & set(result.model_fields)
    if clash:
        raise TypeError(f"RPC method {name}: result fields {sorted(clash)} are reserved")
    summary, description = _docstring(handler)
    return Method(
        name=name,
        summary=summary,
        description=description,
        scope=scope,
        args=args,
        result=result,
        handler=handler,
        example_args=example_args or {},
        example_result=example_result or {},
    )


class Methods:
    """One domain's RPC methods (its ``rpc.py`` has ``methods = Methods()``)."""

    def __init__(self) -> None:
        self._methods: list[Method] = []

    def register(
        self,
        name: str,
        handler: Callable[[Call, Any], Awaitable[BaseModel]],
        *,
        scope: str | None,
        example_args: dict[str, Any] | None = None,
        example_result: dict[str, Any] | None = None,
    ) -> Method:
        method = make_method(
            name,
            handler,
            scope=scope,
            example_args=example_args,
            example_result=example_result,
        )
        self._methods.append(method)
        return method

    def method(
        self,
        name: str,
        *,
        scope: str | None,
        example_args: dict[str, Any] | None = None,
        example_result: dict[str, Any] | None = None,
    ) -> Callable[[Handler[A, R]], Handler[A, R]]:
        """Decorator form of :meth:`register`; ``scope`` is required (None: any caller)."""

        def decorate(handler: Handler[A, R]) -> Handler[A, R]:
            self.register(
                name,
                handler,
                scope=scope,
                example_args=example_args,
                example_result=example_result,
            )
            return handler

        return decorate

    def __iter__(self) -> Iterator[Method]:
        return iter(self._methods)


# -- argument parsing ------------------------------------------------------------------------


def _invalid(message: str, key: str = NON_FIELD) -> InvalidArgs:
    return InvalidArgs(message, errors={key: [message]})


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise _invalid(f"The request body is larger than {MAX_BODY} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _invalid(f"The request body is larger than {MAX_BODY} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _form_value(value: str) -> Any:
    """Form values are strings; one that is a JSON array or object is decoded (how lists and
    objects are sent in a form)."""
    if value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _parse_form(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        message = "The form body is not valid UTF-8 application/x-www-form-urlencoded."
        raise _invalid(message) from None
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:  # a repeated key is a list: events=a&events=b
            previous = data[key]
            data[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[key] = _form_value(value)
    return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


async def read_args(request: Request) -> dict[str, Any]:
    """The arguments in the body: a JSON object, or a urlencoded form; an empty body is
    ``{}``. Anything else is ``invalid_args`` (under ``non_field_errors``)."""
    body = await _read_body(request)
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM:
        data: Any = _parse_form(body)
    elif content_type in ("", "application/json") or content_type.endswith("+json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _invalid(f"The body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _invalid("The body must be a JSON object of arguments.")
    else:
        raise _invalid(
            f"Unsupported content type {content_type[:100]!r}: send application/json or {FORM}."
        )
    nul = {key: [NUL_MESSAGE] for key, value in data.items() if _has_nul(value)}
    if nul:
        raise InvalidArgs(NUL_MESSAGE, errors=nul)
    return typing.cast(dict[str, Any], data)


def validate(model: type[A], data: dict[str, Any]) -> A:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgs("Invalid arguments.", errors=field_errors(exc)) from None


# -- replies ---------------------------------------------------------------------------------


def _messages(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render_error(request: Request, exc: RelaydeskError) -> Response:
    """``{"ok": false, "error": code, "message": ...}`` with the code's status; the same
    renderer as every door (``WWW-Authenticate`` on 401, ``Retry-After`` and ``retry_after``
    on 429), and ``args`` (messages per argument) on ``invalid_args``."""
    if isinstance(exc, InvalidArgs):
        body = {
            "ok": False,
            "error": exc.code,
            "message": exc.message,
            "args": {key: _messages(value) for key, value in exc.errors.items()},
        }
        return FastJSONResponse(body, status_code=exc.status)
    return errors.render(request, exc)


def internal_error() -> Response:
    body = {"ok": False, "error": "internal_error", "message": "Server Error"}
    return FastJSONResponse(body, status_code=500)


async def dispatch(request: Request, registry: Registry, name: str) -> Response:
    """Run method ``name`` for ``request``; every outcome is a JSON reply."""
    try:
        method = registry.get(name)
        if method is None:
            raise MethodNotFound(f"No RPC method {name[:100]!r}. GET {PREFIX} lists them.")
        principal = await authenticate(request, GROUP)
        if method.scope is not None and not principal.allows(method.scope):
            raise Forbidden(scopes.denied(method.scope))
        args = validate(method.args, await read_args(request))
        async with request.app.state.sessionmaker() as session:
            result = await method.handler(Call(request, session, principal), args)
            await session.commit()  # once, on success; leaving without it rolls back
        return FastJSONResponse({"ok": True, **result.model_dump(mode="json")})
    except RelaydeskError as exc:
        return render_error(request, exc)
    except Exception:
        log.exception("RPC method failed", extra={"method": name[:100]})
        return internal_error()


# -- the registry ----------------------------------------------------------------------------


def _type_name(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short human type for a JSON Schema: ``string``, ``array of string``, ``object``…"""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        return "object" if "properties" in target else _type_name(target, defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type_name(s, defs) for s in schema[key])
    if "enum" in schema:
        return " | ".join(orjson.dumps(v).decode() for v in schema["enum"])
    if "const" in schema:
        return orjson.dumps(schema["const"]).decode()
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_name(schema.get('items', {}), defs)}"
    return str(kind)


def describe_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each field of ``model``: name, type, required, description (and default)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        item: dict[str, Any] = {
            "name": name,
            "type": _type_name(prop, defs),
            "required": name in required,
            "description": prop.get("description", ""),
        }
        if "default" in prop:
            item["default"] = prop["default"]
        fields.append(item)
    return fields


class Registry:
    """Every domain's RPC methods by name (a name registered twice is an error)."""

    def __init__(self, *groups: Iterable[Method]) -> None:
        self._methods: dict[str, Method] = {}
        for group in groups:
            for method in group:
                if method.name in self._methods:
                    raise ValueError(f"RPC method {method.name} registered twice")
                self._methods[method.name] = method

    def get(self, name: str) -> Method | None:
        return self._methods.get(name)

    def __iter__(self) -> Iterator[Method]:
        return iter(sorted(self._methods.values(), key=lambda m: m.name))

    def __len__(self) -> int:
        return len(self._methods)

    def describe(self) -> list[dict[str, Any]]:
        """What ``GET /api/rpc`` lists: per method its name, summary, description, scope,
        arguments, their JSON Schema and the result's JSON Schema."""
        return [
            {
                "name": m.name,
                "summary": m.summary,
                "description": m.description,
                "scope": m.scope,
                "args": describe_fields(m.args),
                "args_schema": m.args.model_json_schema(),
                "result": describe_fields(m.result),
                "result_schema": m.result.model_json_schema(mode="serialization"),
            }
            for m in self
        ]

    def router(self) -> APIRouter:
        """``GET /api/rpc`` (the methods, no credentials needed) and
        ``POST /api/rpc/<method>``; not in the OpenAPI document (it has its own docs)."""
        router = APIRouter(prefix=PREFIX, include_in_schema=False)
        listing: dict[str, Any] = {}

        async def list_methods() -> Response:
            if not listing:  # built once, on first use
                listing.update(ok=True, methods=self.describe())
            return FastJSONResponse(listing)

        async def call_method(request: Request, method: str) -> Response:
            return await dispatch(request, self, method)

        router.add_api_route("", list_methods, methods=["GET"])
        router.add_api_route("/{method}", call_method, methods=["POST"])
        return router


# -- lists -----------------------------------------------------------------------------------


async def cursor_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    cursor: str | None,
    limit: int,
    sort: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int],
) -> tuple[list[Any], str | None]:
    """One page of ``stmt``'s entities, newest first (by ``sort`` then ``id_column``; ``sort``
    a datetime column), and the cursor of the next page (None on the last). A cursor that is
    not one of ours is ``invalid_args`` on ``cursor``."""
    if cursor:
        try:
            (sort_value, row_id), _ = cursors.decode(cursor, 2)
        except cursors.BadCursor:
            raise _invalid("Invalid cursor.", "cursor") from None
        when = parse_datetime(sort_value) if isinstance(sort_value, str) else None
        if when is None or not isinstance(row_id, int):
            raise _invalid("Invalid cursor.", "cursor")
        edge = tuple_(
            bindparam("rpc_sort", when, type_=sort.type),
            bindparam("rpc_id", row_id, type_=id_column.type),
        )
        stmt = stmt.where(tuple_(sort, id_column) < edge)
    stmt = stmt.order_by(sort.desc(), id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    position = [format_datetime(getattr(last, sort.key)), getattr(last, id_column.key)]
    return rows, cursors.encode(position)
