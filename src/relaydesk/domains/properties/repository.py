"""Queries for properties, departments, members and invitations: the only SQL of the domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import (
    Department,
    Membership,
    Property,
    PropertyInvitation,
    PropertyMember,
    User,
    property_member_departments,
)


def add(session: AsyncSession, obj: Any) -> None:
    session.add(obj)


def active_properties(workspace_id: int) -> Select[Any]:
    return select(Property).where(Property.workspace_id == workspace_id, Property.is_active)


async def get_property(session: AsyncSession, workspace_id: int, uuid: str) -> Property | None:
    stmt = active_properties(workspace_id).where(Property.uuid == uuid)
    result: Property | None = (await session.execute(stmt)).scalar_one_or_none()
    return result


async def get_property_by_id(session: AsyncSession, property_id: int) -> Property | None:
    return await session.get(Property, property_id)


async def departments_of(
    session: AsyncSession, property_ids: Sequence[int]
) -> dict[int, list[Department]]:
    found: dict[int, list[Department]] = {pid: [] for pid in property_ids}
    if not property_ids:
        return found
    stmt = (
        select(Department)
        .where(Department.property_id.in_(property_ids))
        .order_by(func.lower(Department.name), Department.id)
    )
    for department in (await session.execute(stmt)).scalars():
        found[department.property_id].append(department)
    return found


async def member_counts(session: AsyncSession, property_ids: Sequence[int]) -> dict[int, int]:
    if not property_ids:
        return {}
    stmt = (
        select(PropertyMember.property_id, func.count())
        .where(PropertyMember.property_id.in_(property_ids))
        .group_by(PropertyMember.property_id)
    )
    return {pid: count for pid, count in (await session.execute(stmt))}


async def delete_departments(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(Department).where(Department.id.in_(ids)))


async def members(session: AsyncSession, property_id: int) -> list[tuple[PropertyMember, User]]:
    stmt = (
        select(PropertyMember, User)
        .join(User, User.id == PropertyMember.user_id)
        .where(PropertyMember.property_id == property_id)
        .order_by(PropertyMember.created_on, PropertyMember.id)
    )
    return [(m, u) for m, u in (await session.execute(stmt))]


async def member_of(session: AsyncSession, property_id: int, user_id: int) -> PropertyMember | None:
    stmt = select(PropertyMember).where(
        PropertyMember.property_id == property_id, PropertyMember.user_id == user_id
    )
    result: PropertyMember | None = (await session.execute(stmt)).scalar_one_or_none()
    return result


async def member_by_email(
    session: AsyncSession, property_id: int, email: str
) -> PropertyMember | None:
    stmt = (
        select(PropertyMember)
        .join(User, User.id == PropertyMember.user_id)
        .where(PropertyMember.property_id == property_id, User.email == email.lower())
    )
    result: PropertyMember | None = (await session.execute(stmt)).scalar_one_or_none()
    return result


async def owner_count(session: AsyncSession, property_id: int) -> int:
    stmt = select(func.count()).where(
        PropertyMember.property_id == property_id, PropertyMember.role == "owner"
    )
    return int((await session.execute(stmt)).scalar_one())


async def member_departments(
    session: AsyncSession, member_ids: Sequence[int]
) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {mid: [] for mid in member_ids}
    if not member_ids:
        return found
    link = property_member_departments
    stmt = (
        select(link.c.member_id, Department.name)
        .join(Department, Department.id == link.c.department_id)
        .where(link.c.member_id.in_(member_ids))
        .order_by(func.lower(Department.name))
    )
    for member_id, name in await session.execute(stmt):
        found[member_id].append(name)
    return found


async def set_member_departments(
    session: AsyncSession, member_id: int, department_ids: Sequence[int]
) -> None:
    link = property_member_departments
    await session.execute(delete(link).where(link.c.member_id == member_id))
    if department_ids:
        await session.execute(
            insert(link), [{"member_id": member_id, "department_id": d} for d in department_ids]
        )


async def delete_member(session: AsyncSession, member: PropertyMember) -> None:
    await session.execute(delete(PropertyMember).where(PropertyMember.id == member.id))


async def pending_invitations(
    session: AsyncSession, property_id: int, email: str | None = None
) -> list[PropertyInvitation]:
    """Not accepted yet (expired ones included: the list shows them until removed)."""
    stmt = select(PropertyInvitation).where(
        PropertyInvitation.property_id == property_id, PropertyInvitation.accepted_on.is_(None)
    )
    if email is not None:
        stmt = stmt.where(PropertyInvitation.email == email.lower())
    stmt = stmt.order_by(PropertyInvitation.created_on, PropertyInvitation.id)
    return list((await session.execute(stmt)).scalars())


async def delete_invitations(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(PropertyInvitation).where(PropertyInvitation.id.in_(ids)))


async def invitation_by_hash(
    session: AsyncSession, token_hash: str, *, for_update: bool = False
) -> PropertyInvitation | None:
    stmt = select(PropertyInvitation).where(PropertyInvitation.token_hash == token_hash)
    if for_update:
        stmt = stmt.with_for_update()
    result: PropertyInvitation | None = (await session.execute(stmt)).scalar_one_or_none()
    return result


async def users_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    stmt = select(User).where(User.id.in_(ids))
    return {u.id: u for u in (await session.execute(stmt)).scalars()}


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == email.lower())
    result: User | None = (await session.execute(stmt)).scalar_one_or_none()
    return result


async def workspace_membership(
    session: AsyncSession, workspace_id: int, user_id: int
) -> Membership | None:
    stmt = select(Membership).where(
        Membership.workspace_id == workspace_id, Membership.user_id == user_id
    )
    result: Membership | None = (await session.execute(stmt)).scalar_one_or_none()
    return result
