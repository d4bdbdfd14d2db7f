"""Server-side portal sessions (the ``relaydesk_session`` cookie).

The cookie carries a random session id; only its SHA-256 is stored, so a database read does not
give a usable cookie. Logging out deletes the row (revocation is immediate).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.time import utcnow


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[datetime] = mapped_column(index=True)
    last_seen_on: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """One failed login, counted per email (its SHA-256) and per client IP for throttling
    (:mod:`relaydesk.web.login`). Rows older than the throttling window are deleted."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_hash_created_on", "email_hash", "created_on"),
        Index("ix_login_failures_ip_created_on", "ip", "created_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)
