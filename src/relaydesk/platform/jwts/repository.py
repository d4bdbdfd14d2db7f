"""Queries on signing keys (the only SQL of this package)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import SigningKey


async def usable(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    """Keys that still verify at ``now`` (not retired, or retired less than a token lifetime
    ago), newest first: the first one not retired is the one that signs."""
    stmt = (
        select(SigningKey)
        .where(or_(SigningKey.verify_until.is_(None), SigningKey.verify_until > now))
        .order_by(SigningKey.id.desc())
    )
    return (await session.execute(stmt)).scalars().all()


async def every(session: AsyncSession) -> Sequence[SigningKey]:
    """All keys, newest first (``relaydesk keys list``)."""
    return (
        (await session.execute(select(SigningKey).order_by(SigningKey.id.desc()))).scalars().all()
    )


async def signing_after(session: AsyncSession, moment: datetime) -> Sequence[SigningKey]:
    """Keys that would still sign at ``moment`` (not retired, or retiring later), locked until
    the transaction ends."""
    stmt = (
        select(SigningKey)
        .where(or_(SigningKey.retired_on.is_(None), SigningKey.retired_on > moment))
        .with_for_update()
    )
    return (await session.execute(stmt)).scalars().all()


def add(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)


async def delete_expired(session: AsyncSession, now: datetime) -> int:
    """Delete retired keys that verify nothing any more; returns how many."""
    result = await session.execute(
        delete(SigningKey).where(
            SigningKey.verify_until.is_not(None), SigningKey.verify_until <= now
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
