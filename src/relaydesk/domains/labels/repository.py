"""Message labels: the only place that builds SQL for them. Labels are owned
(:class:`relaydesk.models.OwnedMixin`): :func:`relaydesk.infra.tenancy.scoped` limits personal
tokens to their own. Names and the limit are workspace-wide whoever owns the rows."""

from __future__ import annotations

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import scoped
from relaydesk.models import Label


def list_active(principal: Principal, *, uuid: str | None, name: str | None) -> Select[Label]:
    stmt = scoped(select(Label), Label, principal).where(Label.is_active.is_(True))
    if uuid is not None:
        stmt = stmt.where(Label.uuid == uuid)
    if name is not None:
        stmt = stmt.where(func.lower(Label.name) == name.lower() if drf.storable(name) else false())
    return stmt


async def get_active(session: AsyncSession, principal: Principal, uuid: str) -> Label | None:
    result = await session.execute(list_active(principal, uuid=uuid, name=None))
    return result.scalar_one_or_none()


async def workspace_names(session: AsyncSession, workspace_id: int) -> list[tuple[int, str]]:
    """(id, name) of every active label of the workspace, whoever owns it."""
    stmt = select(Label.id, Label.name).where(
        Label.workspace_id == workspace_id, Label.is_active.is_(True)
    )
    return [(row.id, row.name) for row in await session.execute(stmt)]


async def workspace_count(session: AsyncSession, workspace_id: int) -> int:
    stmt = select(func.count(Label.id)).where(
        Label.workspace_id == workspace_id, Label.is_active.is_(True)
    )
    return int((await session.execute(stmt)).scalar_one())


def add(session: AsyncSession, label: Label) -> None:
    session.add(label)
