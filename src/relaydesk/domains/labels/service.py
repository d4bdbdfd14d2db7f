"""Message labels: list, create, rename, delete (RapidPro's ``LabelsEndpoint``).

Labels are owned: a personal token sees and changes only the labels its user created; a
company token sees the workspace's. Names are unique in the workspace (ignoring case) and a
workspace has at most :data:`LIMIT` active labels, whoever owns them. Agents can't use labels
(as in RapidPro). ``count`` is 0 until Relaydesk has messages.

Every write queues ``label.created|updated|deleted`` (the label in its REST v2 shape,
:func:`to_wire`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.labels import repository
from relaydesk.domains.labels.schemas import MAX_NAME_LENGTH, LabelWrite
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models import Label, Role
from relaydesk.platform.webhooks import events

LIMIT = 250  # RapidPro's default ORG_LIMIT_DEFAULTS["labels"]


def _ensure_allowed(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden(drf.PERMISSION_DENIED)


def list_query(principal: Principal, *, uuid: str | None, name: str | None) -> Select[Any]:
    """The principal's active labels; ``name`` matches ignoring case."""
    _ensure_allowed(principal)
    return repository.list_active(principal, uuid=uuid, name=name)


def to_wire(label: Label) -> dict[str, Any]:
    return {"uuid": label.uuid, "name": label.name, "count": 0}


async def render_many(labels: Sequence[Label]) -> list[dict[str, Any]]:
    return [to_wire(label) for label in labels]


@dataclass(frozen=True)
class Target:
    """What a POST acts on: an existing label, or None to create one."""

    instance: Label | None


async def _get(session: AsyncSession, principal: Principal, uuid: str) -> Label:
    value = canonical_uuid(uuid)
    label = await repository.get_active(session, principal, value) if value else None
    if label is None:
        raise NotFound("Not found.")
    return label


async def resolve(session: AsyncSession, principal: Principal, uuid: str | None) -> Target:
    """Before the body is read, as RapidPro: the label with ``uuid`` (404) or, to create,
    the workspace's limit (409)."""
    _ensure_allowed(principal)
    if uuid is not None:
        return Target(await _get(session, principal, uuid))
    if await repository.workspace_count(session, principal.workspace_id) >= LIMIT:
        raise Conflict(drf.limit_reached(LIMIT))
    return Target(None)


@dataclass(frozen=True)
class WriteResult:
    label: Label
    created: bool


async def write(
    session: AsyncSession, principal: Principal, target: Target, data: Mapping[str, Any]
) -> WriteResult:
    parsed, errors = drf.validate_partial(LabelWrite, data)
    name = parsed.name
    if name is None and "name" not in errors:
        errors["name"] = [drf.REQUIRED]
    elif name is not None:
        existing = await repository.workspace_names(session, principal.workspace_id)
        exclude_id = target.instance.id if target.instance is not None else None
        messages = drf.name_validator(name, MAX_NAME_LENGTH)
        if drf.is_taken(name, existing, exclude_id):
            messages.append(drf.UNIQUE)
        drf.add_error(errors, "name", messages + drf.char_validators(name, MAX_NAME_LENGTH))
    if errors or name is None:
        raise InvalidArgs("Invalid label.", errors=errors)

    now = utcnow()
    if target.instance is not None:
        target.instance.name = name
        target.instance.modified_on = now
        await session.flush()
        await _emit(session, "label.updated", target.instance)
        return WriteResult(target.instance, created=False)
    label = Label(
        workspace_id=principal.workspace_id,
        owner_id=principal.user_id or None,
        name=name,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, label)
    await session.flush()
    await _emit(session, "label.created", label)
    return WriteResult(label, created=True)


async def delete(session: AsyncSession, principal: Principal, uuid: str | None) -> Label:
    """Soft-delete the label with ``uuid`` (required)."""
    _ensure_allowed(principal)
    if uuid is None:
        message = "URL must contain one of the following parameters: uuid"
        raise InvalidArgs(message, errors={"detail": message})
    label = await _get(session, principal, uuid)
    label.is_active = False
    label.modified_on = utcnow()
    await session.flush()
    await _emit(session, "label.deleted", label)
    return label


async def _emit(session: AsyncSession, event_type: str, label: Label) -> None:
    await events.emit(session, label.workspace_id, event_type, [to_wire(label)])
