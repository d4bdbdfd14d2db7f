"""Contact field values: what is stored for a posted value and what is rendered for it.

As in RapidPro (goflow), a value is always kept as text and each field type reads it its own
way; a value that doesn't parse as the field's type is kept but renders as null (RapidPro
answers 200 with ``null`` for a datetime it can't parse, it does not reject it):

* text, state, district, ward: the text (at most 640 characters; longer is cut);
* number: a decimal, stored and rendered without trailing zeros (``"40"``, ``"1.5"``);
* datetime: ISO 8601 with a time zone (``2017-11-11T11:12:13Z``, a space instead of ``T`` is
  fine), or a date in the workspace's date style (``31-12-2017`` when day first) with an
  optional ``hh:mm[:ss]``, read in the workspace time zone. Stored and rendered in the
  workspace time zone with its offset: ``2017-11-11T13:12:13+02:00``.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relaydesk.models import FieldType

MAX_TEXT = 640
_MAX_EXPONENT = 30  # |adjusted exponent| of an accepted number

_DATE = {
    "day_first": re.compile(r"(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})"),
    "month_first": re.compile(r"(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})[-/.](?P<y>\d{4})"),
    "year_first": re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
}
_TIME = re.compile(r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?")


# what format_number produces (no leading zeros, no trailing fractional zeros, no exponent),
# short enough (≤ 27 digits) that Decimal's 28-digit context would not round it
_CANONICAL_NUMBER = re.compile(r"(?:0|-?[1-9][0-9]{0,18})(?:\.[0-9]{0,7}[1-9])?")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or (value != 0 and abs(value.adjusted()) > _MAX_EXPONENT):
        return None
    return value


def format_number(value: Decimal) -> str:
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _parse_iso(text: str) -> datetime | None:
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    if len(candidate) < 11 or candidate[10] not in "T ":
        return None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _parse_local(text: str, date_style: str, tz: ZoneInfo) -> datetime | None:
    pattern = _DATE.get(date_style, _DATE["day_first"])
    date_match = pattern.match(text.strip())
    if date_match is None:
        return None
    rest = text.strip()[date_match.end() :]
    time_match = _TIME.fullmatch(rest)
    if time_match is None:
        return None
    try:
        at = time(
            int(time_match["H"] or 0),
            int(time_match["M"] or 0),
            int(time_match["S"] or 0),
            int((time_match["f"] or "0").ljust(6, "0")),
        )
        day = datetime(int(date_match["y"]), int(date_match["m"]), int(date_match["d"]))
        return datetime.combine(day.date(), at, tzinfo=tz)
    except ValueError:
        return None


def _in_zone(value: datetime, tz: ZoneInfo) -> str | None:
    try:
        return value.astimezone(tz).isoformat()
    except (OverflowError, ValueError):
        return None


def store(value_type: str, text: str, *, timezone: str, date_style: str) -> str:
    """What to keep for a posted (non-empty) value of a field of this type."""
    if value_type == FieldType.NUMBER:
        number = parse_number(text)
        return format_number(number) if number is not None else text[:MAX_TEXT]
    if value_type == FieldType.DATETIME:
        tz = zone(timezone)
        parsed = _parse_iso(text) or _parse_local(text, date_style, tz)
        normalised = _in_zone(parsed, tz) if parsed is not None else None
        return normalised or text[:MAX_TEXT]
    return text[:MAX_TEXT]


def render(value_type: str, stored: object, *, timezone: str) -> str | None:
    """The wire value of a stored value for a field of this type (null when it doesn't parse)."""
    if stored is None:
        return None
    text = str(stored)
    if value_type == FieldType.NUMBER:
        if _CANONICAL_NUMBER.fullmatch(text):  # stored by `store` in this form: render as is
            return text
        number = parse_number(text)
        return format_number(number) if number is not None else None
    if value_type == FieldType.DATETIME:
        parsed = _parse_iso(text)
        return _in_zone(parsed, zone(timezone)) if parsed is not None else None
    return text
