"""Contact fields: the only place that builds SQL for them. Fields are workspace-wide (no
owner), so :func:`relaydesk.infra.tenancy.scoped` filters on the workspace only."""

from __future__ import annotations

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import scoped
from relaydesk.models import ContactField


async def active_by_workspace(session: AsyncSession, workspace_id: int) -> list[ContactField]:
    result = await session.execute(
        select(ContactField).where(
            ContactField.workspace_id == workspace_id, ContactField.is_active.is_(True)
        )
    )
    return list(result.scalars())


def list_active(principal: Principal, *, key: str | None) -> Select[ContactField]:
    stmt = scoped(select(ContactField), ContactField, principal).where(
        ContactField.is_active.is_(True)
    )
    if key is not None:
        stmt = stmt.where(ContactField.key == key if drf.storable(key) else false())
    return stmt


async def get_active(session: AsyncSession, principal: Principal, key: str) -> ContactField | None:
    result = await session.execute(list_active(principal, key=key))
    return result.scalar_one_or_none()


async def get_by_key(session: AsyncSession, principal: Principal, key: str) -> ContactField | None:
    """Active or not: keys stay unique in the workspace even after a field is deleted."""
    if not drf.storable(key):
        return None
    stmt = scoped(select(ContactField), ContactField, principal).where(ContactField.key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_names(session: AsyncSession, principal: Principal) -> list[tuple[int, str]]:
    stmt = scoped(select(ContactField.id, ContactField.name), ContactField, principal).where(
        ContactField.is_active.is_(True)
    )
    return [(row.id, row.name) for row in await session.execute(stmt)]


async def count_active(session: AsyncSession, principal: Principal) -> int:
    stmt = scoped(select(func.count(ContactField.id)), ContactField, principal).where(
        ContactField.is_active.is_(True)
    )
    return int((await session.execute(stmt)).scalar_one())


def add(session: AsyncSession, field: ContactField) -> None:
    session.add(field)
