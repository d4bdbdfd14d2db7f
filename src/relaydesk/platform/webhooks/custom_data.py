"""Custom data: a JSON object (at most 8 KB) a user attaches to one of their objects, e.g.
their own employee id on a user. Events embed it as ``custom_data`` on that object
(:func:`relaydesk.platform.webhooks.events.attach_custom_data`).

Rules:
* Any key of the workspace reads; writes need the ``admin`` scope.
* The object must exist in the caller's workspace (and be visible to the key: a personal key
  sees its own contacts, groups and labels) for the types that have a table today; ``ticket``
  and ``chat`` accept any UUID until those resources land.
* ``DELETE`` needs no live object, so data left on a deleted object can be removed.

Never commits.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.exceptions import InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.platform.webhooks import repository
from relaydesk.platform.webhooks.schemas import CustomDataOut, json_object
from relaydesk.platform.webhooks.service import require_admin

# Singular object types. A new resource adds its name here (and to ``CHECKED`` once it has a
# table that ``repository.object_exists`` can look it up in).
OBJECT_TYPES: tuple[str, ...] = ("contact", "user", "group", "label", "ticket", "chat", "webhook")
CHECKED: frozenset[str] = frozenset({"contact", "user", "group", "label", "webhook"})


def _key(object_type: str, uuid: str) -> str:
    if object_type not in OBJECT_TYPES:
        raise InvalidArgs(
            f"Unknown object type {object_type[:64]!r}; one of: {', '.join(OBJECT_TYPES)}.",
            field="object_type",
        )
    canonical = canonical_uuid(uuid)
    if canonical is None:
        raise InvalidArgs("Must be a valid UUID.", field="uuid")
    return canonical


async def _visible(session: AsyncSession, principal: Principal, object_type: str, uuid: str) -> str:
    canonical = _key(object_type, uuid)
    if object_type in CHECKED and not await repository.object_exists(
        session, principal, object_type, canonical
    ):
        raise NotFound(f"No {object_type} with this uuid.")
    return canonical


def validate(data: Any) -> dict[str, Any]:
    """A JSON object of at most 8 KB, as it will be stored; else 400 on ``data``."""
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidArgs("Must be a JSON object.", field="data")
    try:
        return json_object(data)
    except PydanticCustomError as exc:
        raise InvalidArgs(exc.message(), field="data") from None


def _out(object_type: str, uuid: str, data: dict[str, Any], modified_on: Any) -> CustomDataOut:
    return CustomDataOut(
        object_type=object_type,
        uuid=uuid,
        data=data,
        modified_on=format_datetime(modified_on) or "",
    )


async def put(
    session: AsyncSession, principal: Principal, object_type: str, uuid: str, data: Any
) -> CustomDataOut:
    """Replace the object's custom data (create it if there is none)."""
    require_admin(principal)
    canonical = await _visible(session, principal, object_type, uuid)
    clean = validate(data)
    now = utcnow()
    await repository.upsert_custom_data(
        session, principal.workspace_id, object_type, canonical, clean, now
    )
    return _out(object_type, canonical, clean, now)


async def get(
    session: AsyncSession, principal: Principal, object_type: str, uuid: str
) -> CustomDataOut:
    canonical = await _visible(session, principal, object_type, uuid)
    row = await repository.get_custom_data(session, principal.workspace_id, object_type, canonical)
    if row is None:
        raise NotFound(f"This {object_type} has no custom data.")
    return _out(object_type, canonical, dict(row.data or {}), row.modified_on)


async def delete(session: AsyncSession, principal: Principal, object_type: str, uuid: str) -> None:
    require_admin(principal)
    canonical = _key(object_type, uuid)
    deleted = await repository.delete_custom_data(
        session, principal.workspace_id, object_type, canonical
    )
    if not deleted:
        raise NotFound(f"This {object_type} has no custom data.")
