"""Request parsing for the REST v2 door: query filters, JSON bodies, Pydantic validation
rendered as Django REST framework field errors (``{"field": ["message"]}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from relaydesk.exceptions import InvalidArgs
from relaydesk.kit.parse import parse_bool, parse_datetime
from relaydesk.kit.validation import NUL_MESSAGE

M = TypeVar("M", bound=BaseModel)

MAX_BODY = 1_000_000  # bytes

# Pydantic error types → the messages DRF (and so RapidPro) gives
_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Not a valid string.",
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "list_type": 'Expected a list of items but got type "{input_type}".',
    "dict_type": 'Expected a dictionary of items but got type "{input_type}".',
    "extra_forbidden": "Unknown field.",
}


def _message(error: Any) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_too_long":
        return f"Ensure this field has no more than {ctx.get('max_length')} characters."
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "This field may not be blank."
        return f"Ensure this field has at least {ctx.get('min_length')} characters."
    if kind == "too_long":
        return f"Ensure this field has no more than {ctx.get('max_length')} elements."
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error.get("msg", "Invalid value.")))
    if kind == "literal_error":
        return f'"{error.get("input")}" is not a valid choice.'
    template = _MESSAGES.get(kind)
    if template:
        return template.format(input_type=type(error.get("input")).__name__)
    return str(error.get("msg", "Invalid value."))


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        key = loc[0] if loc else "non_field_errors"
        errors.setdefault(key, []).append(_message(error))
    return errors


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object in the body; an empty body is ``{}``. Anything else → 400."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidArgs("Request body too large.", errors={"detail": "Request body too large."})
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgs(
            "JSON parse error", errors={"detail": f"JSON parse error - {exc}"}
        ) from None
    if not isinstance(data, dict):
        message = "Request body should be a single JSON object"
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    # PostgreSQL text can't hold NUL: a 400 on the field, as DRF does. Top-level strings here;
    # endpoints with nested values (contact fields, URN lists) check those themselves.
    nul = {k: [NUL_MESSAGE] for k, v in data.items() if isinstance(v, str) and "\x00" in v}
    if nul:
        raise InvalidArgs(NUL_MESSAGE, errors=nul)
    return data


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgs("Invalid data.", errors=field_errors(exc)) from None


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = parse_bool(raw)
    if value is None:
        raise InvalidArgs("Invalid boolean.", errors={name: ["Must be a valid boolean."]})
    return value


def query_datetime(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = parse_datetime(raw)
    if value is None:
        raise InvalidArgs(
            "Invalid datetime.",
            errors={name: [f"Value {raw!r} is not a valid ISO8601 date/time."]},
        )
    return value


def query_str(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    return raw.strip() if raw is not None and raw.strip() else None
