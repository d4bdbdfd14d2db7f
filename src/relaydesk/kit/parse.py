"""Parsing of query-string values, as RapidPro's API accepts them."""

from __future__ import annotations

from datetime import UTC, datetime

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


def parse_bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    return None


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601: ``2026-11-23T10:00:00.000000Z``, with offsets, without seconds, or a date.
    Naive values are UTC. Returns None when it is not a datetime."""
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. 9999-12-31T23:00:00-05:00 overflows in UTC
        return None
