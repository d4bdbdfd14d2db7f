from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import scoped
from relaydesk.models import Membership, User


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def get_membership(
    session: AsyncSession, workspace_id: int, user_id: int
) -> Membership | None:
    result = await session.execute(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )
    return result.scalar_one_or_none()


def add(session: AsyncSession, obj: User | Membership) -> None:
    session.add(obj)


def list_members(
    principal: Principal,
    *,
    uuids: Sequence[str] = (),
    emails: Sequence[str] = (),
    roles: Sequence[str] | None = None,
) -> Select[Any]:
    """The principal's workspace's users (not deleted), optionally filtered; rows carry the
    ``User`` first (for keyset pagination)."""
    stmt = scoped(
        select(User).join(Membership, Membership.user_id == User.id), Membership, principal
    ).where(User.deleted_on.is_(None))
    if uuids:
        stmt = stmt.where(User.uuid.in_(uuids))
    if emails:  # an email with a NUL can't match (and PostgreSQL refuses it as a parameter)
        wanted = [email.lower() for email in emails if drf.storable(email)]
        stmt = stmt.where(func.lower(User.email).in_(wanted))
    if roles is not None:
        stmt = stmt.where(Membership.role.in_(roles))
    return stmt


async def roles_of(
    session: AsyncSession, workspace_id: int, user_ids: Sequence[int]
) -> dict[int, str]:
    """user id → role in the workspace, for a page of users (one query)."""
    result = await session.execute(
        select(Membership.user_id, Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id.in_(user_ids)
        )
    )
    return {row.user_id: row.role for row in result}
