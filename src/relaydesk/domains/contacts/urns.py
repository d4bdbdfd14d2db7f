"""Contact URNs (``scheme:path``) parsed, normalised and validated the way RapidPro does.

* ``parse``: RapidPro's loose RFC 2141 parser (``scheme:path[?query][#display]``, with ``%23``,
  ``%25`` and ``%3F`` escapes); the scheme must be one RapidPro knows.
* ``normalize``: ``tel`` numbers become E.164 using the workspace country when they parse as a
  possible number (otherwise only their punctuation is dropped); ``twitter`` handles lose
  ``@`` and are lowercased; ``mailto`` is lowercased.
* ``validate``: per-scheme checks on a normalised URN (a ``tel`` path must be a possible
  number, ``telegram``/``whatsapp``/``instagram`` paths digits, ...).

The **identity** of a URN is ``scheme:path`` (no query or display): one identity belongs to at
most one contact per workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

TEL = "tel"
TWITTER = "twitter"
TWITTERID = "twitterid"
MAILTO = "mailto"
FACEBOOK = "facebook"
TELEGRAM = "telegram"
WHATSAPP = "whatsapp"
INSTAGRAM = "instagram"
VIBER = "viber"
FRESHCHAT = "freshchat"
DISCORD = "discord"

SCHEMES: frozenset[str] = frozenset(
    {
        TEL,
        DISCORD,
        MAILTO,
        "ext",
        FACEBOOK,
        "fcm",
        FRESHCHAT,
        INSTAGRAM,
        "jiochat",
        "line",
        "rocketchat",
        "slack",
        TELEGRAM,
        TWITTERID,
        TWITTER,
        VIBER,
        "vk",
        "wechat",
        "webchat",
        WHATSAPP,
    }
)

MAX_LENGTH = 255  # of a URN string as posted

_ESCAPES = {"#": "%23", "%": "%25", "?": "%3F"}
_ESCAPE_CHARS = frozenset(_ESCAPES)
_HANDLE = re.compile(r"[a-zA-Z0-9_]{1,15}")
_DIGITS = re.compile(r"[0-9]+")
_VIBER = re.compile(r"[a-zA-Z0-9_=+/]{1,24}")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_FRESHCHAT = re.compile(f"{_UUID}/{_UUID}")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
FACEBOOK_REF_PREFIX = "ref:"


class InvalidURN(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class URN:
    scheme: str
    path: str
    query: str = ""
    display: str = ""

    @property
    def identity(self) -> str:
        """``scheme:path`` as RapidPro writes it (the wire form of a contact's URN)."""
        return identity_of(self.scheme, self.path)


def identity_of(scheme: str, path: str) -> str:
    """The wire form of a stored (scheme, path), without building a :class:`URN`."""
    return f"{_escape(scheme)}:{_escape(path)}"


def _escape(value: str) -> str:
    if not _ESCAPE_CHARS.intersection(value):  # the common case: nothing to escape
        return value
    return "".join(_ESCAPES.get(c, c) for c in value)


def _unescape(value: str) -> str:
    for char, escaped in _ESCAPES.items():
        value = value.replace(escaped, char)
    return value


def parse(urn: str) -> URN:
    """Split a URN string; InvalidURN when it has no scheme or path or an unknown scheme."""
    if "\x00" in urn:
        raise InvalidURN("null character")
    parts: dict[str, list[str]] = {"scheme": [], "path": [], "query": [], "fragment": []}
    state = "scheme"
    for char in urn:
        if char == ":" and state == "scheme":
            state = "path"
            continue
        if char == "?":
            if state == "path":
                state = "query"
                continue
            raise InvalidURN("query component can only come after path component")
        if char == "#":
            if state in ("path", "query"):
                state = "fragment"
                continue
            raise InvalidURN("fragment component can only come after path or query components")
        parts[state].append(char)
    scheme, path = "".join(parts["scheme"]), "".join(parts["path"])
    if not scheme or not path:
        raise InvalidURN("URN strings must contain scheme and path components")
    scheme = _unescape(scheme)
    if scheme not in SCHEMES:
        raise InvalidURN(f"URN contains an invalid scheme component: '{scheme}'")
    return URN(
        scheme,
        _unescape(path),
        _unescape("".join(parts["query"])),
        _unescape("".join(parts["fragment"])),
    )


def parse_number(number: str, country: str | None) -> str:
    """E.164 form of a possible phone number; ValueError otherwise."""
    try:
        parsed = phonenumbers.parse(number, country or None)
    except phonenumbers.NumberParseException:
        raise ValueError("unable to parse number") from None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError("not a possible number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_number(number: str, country: str | None) -> str:
    number = number.strip()
    normalized = number.lower()
    if normalized.endswith(("e+11", "e+12")):  # a spreadsheet's scientific notation
        normalized = normalized[:-4].replace(".", "")
    normalized = _NOT_ALNUM.sub("", normalized)
    parse_as = normalized
    if number.startswith("+") or (len(normalized) >= 11 and not normalized.startswith("0")):
        parse_as = "+" + normalized
    try:
        return parse_number(parse_as, country)
    except ValueError:
        return normalized  # not a possible number: what we have, minus the punctuation


def normalize(urn: str, country: str | None) -> URN:
    parsed = parse(urn)
    path = parsed.path.strip()
    display = parsed.display
    if parsed.scheme == TEL:
        path = normalize_number(path, country)
    elif parsed.scheme == TWITTER:
        path = path.lower().removeprefix("@")
    elif parsed.scheme == TWITTERID:
        if display:
            display = display.strip().lower().removeprefix("@")
    elif parsed.scheme == MAILTO:
        path = path.lower()
    if not path:
        raise InvalidURN("URN strings must contain scheme and path components")
    return URN(parsed.scheme, path, parsed.query, display)


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def is_valid(urn: URN, country: str | None) -> bool:
    """Whether a normalised URN looks right for its scheme."""
    scheme, path = urn.scheme, urn.path
    if scheme == TEL:
        try:
            parse_number(path, country)
        except ValueError:
            return False
        return True
    if scheme == TWITTER:
        return _HANDLE.fullmatch(path) is not None
    if scheme == TWITTERID:
        return path.isdigit() and (not urn.display or _HANDLE.fullmatch(urn.display) is not None)
    if scheme == MAILTO:
        try:
            validate_email(path, check_deliverability=False)
        except EmailNotValidError:
            return False
        return True
    if scheme == FACEBOOK:
        return path.startswith(FACEBOOK_REF_PREFIX) or _is_int(path)
    if scheme in (TELEGRAM, WHATSAPP, INSTAGRAM):
        return _DIGITS.fullmatch(path) is not None
    if scheme == VIBER:
        return _VIBER.fullmatch(path) is not None
    if scheme == FRESHCHAT:
        return _FRESHCHAT.fullmatch(path) is not None
    if scheme == DISCORD:
        return _is_int(path)
    return True  # anything goes for the other schemes


def validate(value: str, country: str | None) -> URN:
    """A posted URN, normalised and checked (RapidPro's ``validate_urn``)."""
    try:
        urn = normalize(value, country)
    except InvalidURN:
        urn = None
    if urn is None or not is_valid(urn, country):
        raise InvalidURN(f"Invalid URN: {value}. Ensure phone numbers contain country codes.")
    return urn


def lookup_identity(value: str, country: str | None) -> str:
    """The identity to look a contact up by (``?urn=``): normalised, not validated."""
    try:
        return normalize(value, country).identity
    except InvalidURN:
        raise InvalidURN(f"Invalid URN: {value}") from None
