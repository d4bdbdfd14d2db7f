from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.time import utcnow


class TokenKind(enum.StrEnum):
    PERSONAL = "personal"
    COMPANY = "company"


class ApiVersion(enum.StrEnum):
    V2 = "v2"
    V3 = "v3"


class ApiToken(Base):
    """An API token. Only the SHA-256 of the secret is stored; ``prefix`` is for listing."""

    __tablename__ = "api_tokens"
    __owner_column__ = "user_id"  # a personal token sees only its own user's tokens
    __table_args__ = (Index("ix_api_tokens_workspace_user", "workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    api_version: Mapped[str] = mapped_column(String(4), default=ApiVersion.V2.value)
    name: Mapped[str] = mapped_column(String(64), default="")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_on: Mapped[datetime | None] = mapped_column()
    expires_on: Mapped[datetime | None] = mapped_column()
    deleted_on: Mapped[datetime | None] = mapped_column()
