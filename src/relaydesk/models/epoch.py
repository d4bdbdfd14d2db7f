"""Change counters that let every process invalidate its caches after a committed change."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base


class CacheEpoch(Base):
    """One row per cache; ``value`` is bumped in the same transaction as the change."""

    __tablename__ = "cache_epochs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
