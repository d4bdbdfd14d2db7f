"""Signing keys for the JWTs that v3 API keys are exchanged for (docs/auth.md).

The private key is stored in the database (a JWK, JSON text): every API replica signs and
verifies with the same keys, and ``relaydesk keys rotate`` on one host reaches all of them.
The oldest key whose ``retired_on`` is not past signs; a rotation sets the current key's
``retired_on`` a little ahead (so the new key is published before it signs), and a retired key
still verifies until ``verify_until`` (retirement + the longest token lifetime + grace), after
which it leaves the JWKS and is deleted (relaydesk.platform.jwts.keys).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relaydesk.db.base import Base
from relaydesk.kit.time import utcnow


class SigningKey(Base):
    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[str] = mapped_column(Text)  # JSON text of the private JWK
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    retired_on: Mapped[datetime | None] = mapped_column()
    verify_until: Mapped[datetime | None] = mapped_column()
