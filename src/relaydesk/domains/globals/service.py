"""Globals: list, create, change the value (RapidPro's ``GlobalsEndpoint``; no DELETE).

Globals are owned: a personal token sees and changes only the globals its user created; a
company token sees the workspace's. Names are unique in the workspace ignoring case, keys are
unique among active globals, and a workspace has at most :data:`LIMIT`, whoever owns them.
Agents can't use globals (as in RapidPro).

Creating a global and changing its value queue ``global.created|updated`` (the global in its
REST v2 shape, :func:`to_wire`) in the same transaction. There is no delete (as in RapidPro).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.globals import repository
from relaydesk.domains.globals.schemas import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_VALUE_LENGTH,
    GlobalWrite,
)
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import Global, Role
from relaydesk.platform.webhooks import events

LIMIT = 250  # RapidPro's default ORG_LIMIT_DEFAULTS["globals"]


def is_valid_key(key: str) -> bool:
    return bool(drf.KEY_RE.match(key)) and len(key) <= MAX_KEY_LENGTH


def is_valid_name(name: str) -> bool:
    return bool(drf.NAME_RE.match(name)) and len(name) <= MAX_NAME_LENGTH


def _ensure_allowed(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden(drf.PERMISSION_DENIED)


def list_query(
    principal: Principal,
    *,
    key: str | None,
    before: datetime | None = None,
    after: datetime | None = None,
) -> Select[Any]:
    """The principal's active globals; ``before``/``after`` bound ``modified_on`` inclusively."""
    _ensure_allowed(principal)
    return repository.list_active(principal, key=key, before=before, after=after)


def to_wire(item: Global) -> dict[str, Any]:
    return {
        "key": item.key,
        "name": item.name,
        "value": item.value,
        "modified_on": format_datetime(item.modified_on),
    }


async def render_many(items: Sequence[Global]) -> list[dict[str, Any]]:
    return [to_wire(item) for item in items]


@dataclass(frozen=True)
class Target:
    """What a POST acts on: an existing global, or None to create one."""

    instance: Global | None


async def resolve(session: AsyncSession, principal: Principal, key: str | None) -> Target:
    """Before the body is read, as RapidPro: the global with ``key`` (404) or, to create,
    the workspace's limit (409)."""
    _ensure_allowed(principal)
    if key is not None:
        instance = await repository.get_active(session, principal, key)
        if instance is None:
            raise NotFound("Not found.")
        return Target(instance)
    if await repository.workspace_count(session, principal.workspace_id) >= LIMIT:
        raise Conflict(drf.limit_reached(LIMIT))
    return Target(None)


@dataclass(frozen=True)
class WriteResult:
    item: Global
    created: bool


async def write(
    session: AsyncSession, principal: Principal, target: Target, data: Mapping[str, Any]
) -> WriteResult:
    """Create a global from ``name`` and ``value``, or set the ``value`` of ``target``."""
    parsed, errors = drf.validate_partial(GlobalWrite, data)
    value, name = parsed.value, parsed.name
    if value is None and "value" not in errors:
        errors["value"] = [drf.REQUIRED]
    elif value is not None:
        drf.add_error(errors, "value", drf.char_validators(value, MAX_VALUE_LENGTH))
    if name is not None:
        existing = await repository.workspace_names(session, principal.workspace_id)
        exclude_id = target.instance.id if target.instance is not None else None
        messages = [drf.UNIQUE] if drf.is_taken(name, existing, exclude_id) else []
        messages += drf.char_validators(name, MAX_NAME_LENGTH)
        if not messages and not is_valid_name(name):
            messages = ["Name contains illegal characters."]
        elif not messages and not is_valid_key(drf.make_key(name)):
            messages = ["Name creates Key that is invalid"]
        drf.add_error(errors, "name", messages)
    if errors or value is None:
        raise InvalidArgs("Invalid global.", errors=errors)

    now = utcnow()
    if target.instance is not None:  # as RapidPro, an update changes the value only
        target.instance.value = value
        target.instance.modified_on = now
        await session.flush()
        await _emit(session, "global.updated", target.instance)
        return WriteResult(target.instance, created=False)
    if name is None:
        message = "Name is required when creating new global."
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    key = drf.make_key(name)
    if await repository.workspace_key_taken(session, principal.workspace_id, key):
        raise InvalidArgs("Key taken.", errors={"name": [drf.UNIQUE]})
    item = Global(
        workspace_id=principal.workspace_id,
        owner_id=principal.user_id or None,
        key=key,
        name=name,
        value=value,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, item)
    await session.flush()
    await _emit(session, "global.created", item)
    return WriteResult(item, created=True)


async def _emit(session: AsyncSession, event_type: str, item: Global) -> None:
    await events.emit(session, item.workspace_id, event_type, [to_wire(item)])
