"""Contact fields: the workspace's contact schema.

Fields are workspace-wide (not owned): every token of the workspace reads them; editors and
administrators create and change them. Rules are RapidPro's (``ContactFieldWriteSerializer``,
``ContactField.make_key`` / ``is_valid_key`` / ``is_valid_name``).

Creating and changing a field queue ``field.created|updated`` (the field in its REST v2
shape, :func:`to_wire`) in the same transaction. There is no delete (as in RapidPro's API).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.fields import repository
from relaydesk.domains.fields.schemas import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    TYPE_OF_VALUE_TYPE,
    VALUE_TYPES,
    FieldWrite,
)
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra import changes
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.cache import EpochCache
from relaydesk.infra.http import drf
from relaydesk.kit.time import utcnow
from relaydesk.models import ContactField, Role
from relaydesk.platform.webhooks import events

LIMIT = 250  # RapidPro's default ORG_LIMIT_DEFAULTS["fields"]

# RapidPro's ContactField.RESERVED_KEYS plus the contact's own attributes (what older RapidPro
# reserved too): a field with one of these keys would be ambiguous in contact queries.
RESERVED_KEYS = frozenset(
    {
        # RapidPro (current)
        "has",
        "is",
        "fields",
        "urns",
        "created_on",
        "last_seen_on",
        # contact attributes on the wire and in queries
        "id",
        "uuid",
        "name",
        "first_name",
        "language",
        "status",
        "blocked",
        "stopped",
        "groups",
        "flow",
        "modified_on",
        "created_by",
        "modified_by",
        "org",
    }
)

WRITERS = frozenset({Role.ADMINISTRATOR, Role.EDITOR})


def is_valid_key(key: str) -> bool:
    return bool(drf.KEY_RE.match(key)) and key not in RESERVED_KEYS and len(key) <= MAX_KEY_LENGTH


def is_valid_name(name: str) -> bool:
    return name == name.strip() and bool(drf.NAME_RE.match(name)) and len(name) <= MAX_NAME_LENGTH


async def active_fields(session: AsyncSession, workspace_id: int) -> dict[str, ContactField]:
    """The workspace's active fields, key → field (one query). Used by contacts and groups."""
    return {f.key: f for f in await repository.active_by_workspace(session, workspace_id)}


FieldTypesCache = EpochCache[int, list[tuple[str, str]]]


async def field_types(
    session: AsyncSession, workspace_id: int, cache: FieldTypesCache
) -> list[tuple[str, str]]:
    """(key, value_type) of the workspace's active fields, cached until the next committed
    schema/auth change (field writes bump the change epoch, see relaydesk.infra.changes)."""
    cached = cache.get(workspace_id)
    if cached is not None:
        return cached
    version = cache.version()
    types = [(key, f.value_type) for key, f in (await active_fields(session, workspace_id)).items()]
    cache.put(workspace_id, types, version)
    return types


def list_query(principal: Principal, *, key: str | None) -> Select[Any]:
    """Active fields of the principal's workspace (optionally the one with ``key``)."""
    return repository.list_active(principal, key=key)


def to_wire(field: ContactField) -> dict[str, Any]:
    """RapidPro's ``ContactFieldReadSerializer`` shape (plus nothing of ours)."""
    return {
        "key": field.key,
        "name": field.name,
        "type": field.value_type,
        "featured": field.featured,
        "priority": field.priority,
        "usages": {"flows": 0, "groups": 0, "campaign_events": 0},
        "agent_access": "view",
        "label": field.name,
        "value_type": VALUE_TYPES[field.value_type],
    }


async def render_many(fields: Sequence[ContactField]) -> list[dict[str, Any]]:
    return [to_wire(field) for field in fields]


@dataclass(frozen=True)
class WriteResult:
    field: ContactField
    created: bool


def _check_name(value: str, existing: list[tuple[int, str]], exclude_id: int | None) -> list[str]:
    """The ``name`` (or ``label``) field: DRF's validators, then ``validate_name``."""
    messages = [drf.UNIQUE] if drf.is_taken(value, existing, exclude_id) else []
    messages += drf.char_validators(value, MAX_NAME_LENGTH)
    if messages:
        return messages
    if not is_valid_name(value):
        return ["Can only contain letters, numbers and hypens."]
    key = drf.make_key(value)
    if not is_valid_key(key):
        return [f'Generated key "{key}" is invalid or a reserved name.']
    return []


@dataclass(frozen=True)
class Target:
    """What a POST acts on: an existing field, or None to create one."""

    instance: ContactField | None


async def resolve(session: AsyncSession, principal: Principal, key: str | None) -> Target:
    """RapidPro's order before the body is read: permission (403), then the field with
    ``key`` (404) or, to create, the workspace's limit (409)."""
    if principal.role not in WRITERS:
        raise Forbidden(drf.PERMISSION_DENIED)
    if key is not None:
        instance = await repository.get_active(session, principal, key)
        if instance is None:
            raise NotFound("Not found.")
        return Target(instance)
    if await repository.count_active(session, principal) >= LIMIT:
        raise Conflict(drf.limit_reached(LIMIT))
    return Target(None)


async def write(
    session: AsyncSession, principal: Principal, target: Target, data: Mapping[str, Any]
) -> WriteResult:
    """Validate ``data`` (all field errors at once, then the object-level ones) and create or
    update the field."""
    instance = target.instance
    parsed, errors = drf.validate_partial(FieldWrite, data)
    existing = await repository.active_names(session, principal)
    exclude_id = instance.id if instance is not None else None
    for attr in ("name", "label"):
        value = getattr(parsed, attr)
        if value is not None:
            drf.add_error(errors, attr, _check_name(value, existing, exclude_id))
    if errors:
        raise InvalidArgs("Invalid field.", errors=errors)

    name = parsed.name or parsed.label
    name_field = "name" if parsed.name else "label"
    if not name:
        raise InvalidArgs(
            "Name required.", errors={"non_field_errors": ["Field 'name' is required."]}
        )
    if parsed.type:
        value_type = parsed.type
    elif parsed.value_type:
        value_type = TYPE_OF_VALUE_TYPE[parsed.value_type]
    else:
        raise InvalidArgs(
            "Type required.", errors={"non_field_errors": ["Field 'type' is required."]}
        )

    now = utcnow()
    if instance is not None:
        instance.name = name
        instance.value_type = value_type
        instance.modified_on = now
        await session.flush()
        await changes.bump(session)  # cached field definitions are stale
        await _emit(session, "field.updated", instance)
        return WriteResult(instance, created=False)
    field = await _create(session, principal, name, value_type, name_field)
    await _emit(session, "field.created", field)
    return WriteResult(field, created=True)


async def _emit(session: AsyncSession, event_type: str, field: ContactField) -> None:
    await events.emit(session, field.workspace_id, event_type, [to_wire(field)])


async def _create(
    session: AsyncSession, principal: Principal, name: str, value_type: str, name_field: str
) -> ContactField:
    key = drf.make_key(name)
    field = await repository.get_by_key(session, principal, key)
    if field is not None and field.is_active:  # "Nick Name" after "nick-name": same key
        raise InvalidArgs("Key taken.", errors={name_field: [drf.UNIQUE]})
    now = utcnow()
    if field is None:
        field = ContactField(workspace_id=principal.workspace_id, key=key)
        repository.add(session, field)
    # a deleted field's key is reused by reviving its row (keys are unique per workspace)
    field.name = name
    field.value_type = value_type
    field.featured = False
    field.priority = 0
    field.is_active = True
    field.created_on = now
    field.modified_on = now
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create took the key
        raise InvalidArgs("Key taken.", errors={name_field: [drf.UNIQUE]}) from None
    await changes.bump(session)  # cached field definitions are stale
    return field
