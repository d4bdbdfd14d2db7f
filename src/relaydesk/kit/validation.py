"""Validators for ISO codes, shared by every domain."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

import pycountry


@lru_cache(maxsize=512)
def is_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


@lru_cache(maxsize=2048)
def is_language(code: str) -> bool:
    """ISO 639-3 (three letters), as RapidPro uses for translations."""
    return len(code) == 3 and code.islower() and pycountry.languages.get(alpha_3=code) is not None


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    return name in _timezones() or name == "UTC"


NUL_MESSAGE = "Null characters are not allowed."


def no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; reject it as DRF does (a 400, never a 500)."""
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value
