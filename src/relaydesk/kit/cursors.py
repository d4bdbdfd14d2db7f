"""Opaque keyset cursors: ``base64url(json([position..., reverse]))``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BadCursor(ValueError):
    pass


def encode(position: list[Any], reverse: bool = False) -> str:
    raw = json.dumps([*position, 1 if reverse else 0], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> tuple[list[Any], bool]:
    """Return (position of ``size`` values, reverse) or raise BadCursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(data, list) or len(data) != size + 1 or data[-1] not in (0, 1):
        raise BadCursor(cursor)
    return data[:-1], bool(data[-1])
