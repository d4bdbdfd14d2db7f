from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import utcnow


class DateStyle(enum.StrEnum):
    DAY_FIRST = "day_first"
    MONTH_FIRST = "month_first"
    YEAR_FIRST = "year_first"


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(128))
    country: Mapped[str | None] = mapped_column(String(2))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_language: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    date_style: Mapped[str] = mapped_column(String(16), default=DateStyle.DAY_FIRST.value)
    plan: Mapped[str] = mapped_column(String(16), default="standard")
    anon: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # rate limit overrides; null = the plan's / the configured default
    limit_minute: Mapped[int | None] = mapped_column(Integer)
    limit_day: Mapped[int | None] = mapped_column(Integer)
    limit_endpoint_hour: Mapped[int | None] = mapped_column(Integer)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
