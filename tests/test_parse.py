from datetime import UTC, datetime

import pytest

from relaydesk.kit.parse import parse_bool, parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:00:00.123456Z", datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-23T12:00:00+02:00", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23T10:00", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("9999-12-31T23:00:00-05:00", None),  # beyond datetime.max in UTC
        ("0001-01-01T00:00:00+05:00", None),  # before datetime.min in UTC
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("1", True), ("False", False), ("0", False), ("maybe", None)],
)
def test_parse_bool(text: str, expected: bool | None) -> None:
    assert parse_bool(text) is expected
