"""UTCDateTime: the SQLite fast bind path writes exactly what the general path writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite

from relaydesk.db.base import UTCDateTime

SQLITE = sqlite.dialect()
TYPE = UTCDateTime().dialect_impl(SQLITE)
FAST = TYPE.bind_processor(SQLITE)
GENERAL = TypeDecorator.bind_processor(TYPE, SQLITE)  # process_bind_param + SQLite's format

zones = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(min_value=-23 * 60, max_value=23 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
# far enough from the ends of the range that converting to UTC stays in range
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


@given(moments, zones)
def test_fast_sqlite_bind_equals_general(moment: datetime, zone: timezone | None) -> None:
    value = moment.replace(tzinfo=zone)
    assert FAST is not None
    assert GENERAL is not None
    assert FAST(value) == GENERAL(value)


def test_examples() -> None:
    assert FAST is not None
    assert FAST(datetime(2023, 1, 1, 5, 30, 50, tzinfo=UTC)) == "2023-01-01 05:30:50.000000"
    assert FAST(datetime(999, 1, 2, 3, 4, 5, 6)) == "0999-01-02 03:04:05.000006"
    plus5 = timezone(timedelta(hours=5))
    assert FAST(datetime(2023, 6, 1, 12, 0, tzinfo=plus5)) == "2023-06-01 07:00:00.000000"
    assert FAST(None) is None


def test_other_dialects_keep_the_general_path() -> None:
    pg = postgresql.dialect()
    process = UTCDateTime().dialect_impl(pg).bind_processor(pg)
    value = datetime(2023, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    converted = process(value) if process is not None else value
    assert converted == value
    assert converted.tzinfo == UTC
