"""Globals: the only place that builds SQL for them. Globals are owned
(:class:`relaydesk.models.OwnedMixin`): :func:`relaydesk.infra.tenancy.scoped` limits personal
tokens to their own. Names, keys and the limit are workspace-wide whoever owns the rows (a
flow reads ``@globals.<key>`` of the workspace)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import scoped
from relaydesk.models import Global


def list_active(
    principal: Principal,
    *,
    key: str | None,
    before: datetime | None = None,
    after: datetime | None = None,
) -> Select[Global]:
    stmt = scoped(select(Global), Global, principal).where(Global.is_active.is_(True))
    if key is not None:
        stmt = stmt.where(Global.key == key if drf.storable(key) else false())
    if before is not None:
        stmt = stmt.where(Global.modified_on <= before)
    if after is not None:
        stmt = stmt.where(Global.modified_on >= after)
    return stmt


async def get_active(session: AsyncSession, principal: Principal, key: str) -> Global | None:
    result = await session.execute(list_active(principal, key=key))
    return result.scalars().first()


async def workspace_names(session: AsyncSession, workspace_id: int) -> list[tuple[int, str]]:
    """(id, name) of every active global of the workspace, whoever owns it."""
    stmt = select(Global.id, Global.name).where(
        Global.workspace_id == workspace_id, Global.is_active.is_(True)
    )
    return [(row.id, row.name) for row in await session.execute(stmt)]


async def workspace_key_taken(session: AsyncSession, workspace_id: int, key: str) -> bool:
    stmt = select(Global.id).where(
        Global.workspace_id == workspace_id, Global.key == key, Global.is_active.is_(True)
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def workspace_count(session: AsyncSession, workspace_id: int) -> int:
    stmt = select(func.count(Global.id)).where(
        Global.workspace_id == workspace_id, Global.is_active.is_(True)
    )
    return int((await session.execute(stmt)).scalar_one())


def add(session: AsyncSession, item: Global) -> None:
    session.add(item)
