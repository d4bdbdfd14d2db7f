"""UTC time helpers and the wire format ``YYYY-MM-DDThh:mm:ss.ffffffZ``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat naive datetimes as UTC (SQLite returns them naive) and convert aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:  # values read from the database are already aware UTC
        value = as_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
