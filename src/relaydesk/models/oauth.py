"""OAuth 2.0 provider: registered clients, authorization codes and issued tokens (docs/auth.md).

* ``OAuthClient`` belongs to one workspace; its tokens act as the consenting user there.
  Confidential clients have a secret, stored as its SHA-256 only (high entropy, shown once).
* ``OAuthAuthorizationCode`` is single-use and short-lived; only its hash is stored. Its
  ``family_id`` is given to every token issued from it, so a replayed code (RFC 6749 §4.1.2)
  or a reused refresh token revokes the whole family.
* ``OAuthToken`` is one access token and (except for the implicit grant) its refresh token,
  both stored as hashes. Refreshing rotates: the old row gets ``rotated_on`` and a new row in
  the same family is issued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.time import utcnow

# 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY (the rowid) is already 64-bit
BigId = BigInteger().with_variant(Integer, "sqlite")


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # null: public client
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_implicit: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_on: Mapped[datetime | None] = mapped_column()


class OAuthAuthorizationCode(Base):
    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    family_id: Mapped[str] = mapped_column(String(36))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[datetime] = mapped_column()
    used_on: Mapped[datetime | None] = mapped_column()


class OAuthToken(Base):
    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_on: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[datetime] = mapped_column()
    refresh_expires_on: Mapped[datetime | None] = mapped_column()
    revoked_on: Mapped[datetime | None] = mapped_column()
    rotated_on: Mapped[datetime | None] = mapped_column()
