"""Public identifiers."""

from __future__ import annotations

import uuid


def new_uuid() -> str:
    return str(uuid.uuid4())


def canonical_uuid(raw: str) -> str | None:
    """The canonical form of a UUID given in any form :class:`uuid.UUID` reads, else None."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, TypeError):
        return None
