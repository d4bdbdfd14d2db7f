"""Write-input checks with Django REST framework's semantics, for RapidPro's write serializers.

RapidPro validates a POST body with a DRF serializer, which:

* checks **every** field and reports all failing fields at once;
* within a field, runs **every** validator and reports each message, in declaration order
  (e.g. a 65-character label name gets both ``NameValidator``'s and ``max_length``'s message);
* trims surrounding whitespace from strings (``CharField(trim_whitespace=True)``), then
  rejects blank ones, and accepts numbers as strings (``1`` → ``"1"``);
* runs the serializer-level ``validate()`` only when all fields passed.

:func:`validate_partial` gives a service the coerced values of the fields that passed *and*
the errors of those that did not, so it can add its own field checks and render one body
exactly like RapidPro's. The query helpers (:func:`query_uuid`, :func:`query_uuids`,
:func:`exclusive`) give RapidPro's messages for its views' parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.http.v2params import field_errors
from relaydesk.kit.ids import canonical_uuid

M = TypeVar("M", bound=BaseModel)

Errors = dict[str, list[str]]

NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
REQUIRED = "This field is required."
UNIQUE = "This field must be unique."


def char(value: Any) -> str:
    """``CharField()``: null, non-string and blank values are errors; the result is trimmed."""
    if value is None:
        raise ValueError(NULL)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(NOT_A_STRING)
    text = str(value).strip()
    if not text:
        raise ValueError(BLANK)
    return text


def choice(choices: Iterable[str]) -> Callable[[Any], str]:
    """``ChoiceField(choices=...)``: anything but one of ``choices`` is an invalid choice."""
    allowed = frozenset(choices)

    def check(value: Any) -> str:
        if value is None:
            raise ValueError(NULL)
        if str(value) not in allowed:
            raise ValueError(f'"{value}" is not a valid choice.')
        return str(value)

    return check


def char_validators(value: str, max_length: int) -> list[str]:
    """The validators ``CharField(max_length=...)`` appends after the declared ones."""
    messages = []
    if len(value) > max_length:
        messages.append(f"Ensure this field has no more than {max_length} characters.")
    if "\x00" in value:
        messages.append("Null characters are not allowed.")
    return messages


def is_taken(name: str, existing: Iterable[tuple[int, str]], exclude_id: int | None) -> bool:
    """``UniqueForOrgValidator(ignore_case=True)``: ``existing`` is (id, name) of the
    workspace's active objects; the object being updated does not count."""
    folded = name.casefold()
    return any(
        other.casefold() == folded and object_id != exclude_id for object_id, other in existing
    )


def validate_partial(model: type[M], data: Mapping[str, Any]) -> tuple[M, Errors]:
    """Parse ``data`` with ``model`` (whose fields are all optional and independent). Returns
    the model built from the fields that passed, and the errors of those that did not."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors = field_errors(exc)
    passed = {key: value for key, value in data.items() if key not in errors}
    return model.model_validate(passed), errors


def add_error(errors: Errors, field: str, messages: Iterable[str]) -> None:
    listed = list(messages)
    if listed:
        errors.setdefault(field, []).extend(listed)


def query_uuids(request: Request, name: str, *, max_values: int = 100) -> list[str]:
    """A repeatable UUID filter (``?uuid=…&uuid=…``); empty values are ignored. Invalid → 400
    ``{"detail": "Param 'uuid': xyz is not a valid UUID."}`` (RapidPro's current wording)."""
    raws = [raw for raw in request.query_params.getlist(name) if raw.strip()]
    if len(raws) > max_values:
        message = f"Param '{name}' can have a maximum of {max_values} values."
        raise InvalidArgs(message, errors={"detail": message})
    values = []
    for raw in raws:
        value = canonical_uuid(raw.strip())
        if value is None:
            message = f"Param '{name}': {raw} is not a valid UUID."
            raise InvalidArgs(message, errors={"detail": message})
        values.append(value)
    return values


def query_uuid(request: Request, name: str) -> str | None:
    """A single UUID filter: the last value given, as Django's ``QueryDict.get`` reads it."""
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return None
    value = canonical_uuid(raw.strip())
    if value is None:
        message = f"Param '{name}': {raw} is not a valid UUID."
        raise InvalidArgs(message, errors={"detail": message})
    return value


def exclusive(request: Request, *names: str) -> None:
    """RapidPro's ``exclusive_params``: at most one of ``names`` may have a value."""
    if sum(1 for name in names if request.query_params.get(name)) > 1:
        message = f"You may only specify one of the {', '.join(names)} parameters"
        raise InvalidArgs(message, errors={"detail": message})


def storable(text: str) -> bool:
    """Whether ``text`` can be compared in SQL: PostgreSQL rejects NUL characters in text
    parameters (a 500), and no stored key or name contains one, so such a filter matches
    nothing."""
    return "\x00" not in text


def name_validator(value: str, max_length: int = 64) -> list[str]:
    """RapidPro's ``NameValidator`` (group and label names): its first failing rule."""
    if len(value) > max_length:
        return [f"Cannot be longer than {max_length} characters."]
    if value != value.strip():
        return ["Cannot begin or end with whitespace."]
    for char in '"\\':
        if char in value:
            return [f"Cannot contain the character: {char}"]
    if "\x00" in value:
        return ["Cannot contain null characters."]
    return []


def limit_reached(limit: int) -> str:
    """RapidPro's message when a workspace already has ``limit`` objects of a kind."""
    return f"Cannot create object because workspace has reached limit of {limit}."


PERMISSION_DENIED = "You do not have permission to perform this action."

# RapidPro's key and name rules shared by contact fields and globals
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9\- ]+$")
_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]+")


def make_key(name: str) -> str:
    """RapidPro's ``make_key`` (fields, globals): "Nick Name" → "nick_name". Not always valid."""
    spaced = _NOT_KEY_CHARS.sub(" ", name.lower())
    return _NOT_KEY_CHARS.sub("_", spaced.strip())
