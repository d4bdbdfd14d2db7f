from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import Workspace


async def get_by_id(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def get_by_uuid(session: AsyncSession, uuid: str) -> Workspace | None:
    result = await session.execute(select(Workspace).where(Workspace.uuid == uuid))
    return result.scalar_one_or_none()


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count(Workspace.id)))).scalar_one())


async def list_all(session: AsyncSession) -> list[Workspace]:
    result = await session.execute(select(Workspace).order_by(Workspace.id))
    return list(result.scalars())


def add(session: AsyncSession, workspace: Workspace) -> None:
    session.add(workspace)
