from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import ApiToken, Membership, User


def _live() -> Select[ApiToken, User]:
    return (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.deleted_on.is_(None))
    )


def live_tokens() -> Select[ApiToken, User]:
    """Not-deleted tokens with their user, newest first; callers scope it to a principal."""
    return _live().order_by(ApiToken.created_on.desc(), ApiToken.id.desc())


async def fetch(session: AsyncSession, stmt: Select[ApiToken, User]) -> list[tuple[ApiToken, User]]:
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


def by_id_or_prefix(ref: str) -> Select[ApiToken, User]:
    conditions = [ApiToken.prefix == ref]
    # ASCII digits only ("¹".isdigit() is True) and within the integer column's range
    if ref.isascii() and ref.isdigit() and int(ref) < 2**31:
        conditions.append(ApiToken.id == int(ref))
    return _live().where(or_(*conditions))


def add(session: AsyncSession, token: ApiToken) -> None:
    session.add(token)


async def get_member(
    session: AsyncSession, workspace_id: int, user_id: int
) -> tuple[User, Membership] | None:
    row = (
        await session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id, User.id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row else None
