"""The smart-group query language: a practical subset of RapidPro's contact search (ContactQL).

Grammar (keywords case-insensitive)::

    query      := or_expr
    or_expr    := and_expr ( OR and_expr )*
    and_expr   := unary ( [AND] unary )*          -- adjacent conditions: implicit AND
    unary      := "(" or_expr ")" | condition | literal
    condition  := property operator value
    literal    := value                           -- implicit: name ~ value (tel ~ for numbers)
    operator   := = | != | ~ | > | < | >= | <=
    value      := bare-word | "quoted string"     -- \\" and \\\\ escape inside quotes

AND binds tighter than OR, as in RapidPro.

Properties (resolved in this order, as RapidPro does):

* ``fields.<key>`` / ``urns.<scheme>``: explicitly a contact field / a URN scheme
  (any other prefix is an error);
* attributes: ``name``, ``uuid``, ``language``, ``status``, ``created_on``, ``last_seen_on``,
  ``urn`` (any URN's path);
* URN schemes (``tel``, ``whatsapp``, ``telegram``, ``mailto``, ``twitter``, …): the paths of
  the contact's URNs of that scheme;
* contact field keys (bare).

Semantics (those of RapidPro's in-memory evaluator, ``goflow/contactql``):

* ``x = ""`` is true when ``x`` has no value, ``x != ""`` when it has one;
* otherwise a contact with no value for ``x`` never matches (not even ``!=``);
* text: ``=`` / ``!=`` compare case-insensitively (trimmed); ``~`` is a case-insensitive
  substring match — for ``name`` a prefix match of its words (tokens of ≥ 2 characters);
* numbers (number fields) and dates (``created_on``, ``last_seen_on``, datetime fields) compare
  by value; dates by **day** in the workspace's time zone (``created_on = 2026-01-31`` is that
  whole day, ``> 2026-01-31`` from the next day). Dates are ``YYYY-MM-DD`` (optionally with a
  time, which is ignored) or in the workspace's date style (``31-01-2026`` / ``01/31/2026``);
* a property with several values (URNs) matches ``=``/``~``/… when any value does and ``!=``
  only when every value differs.

:func:`parse` checks syntax only (→ an AST); :func:`compile_query` resolves properties against
the workspace's fields and validates values, giving a predicate over :class:`ContactData`.
Every invalid input raises :class:`QueryError` whose message is RapidPro's user-facing text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

from relaydesk.kit.parse import parse_datetime
from relaydesk.kit.validation import is_language

Operator = Literal["=", "!=", "~", ">", "<", ">=", "<="]
BoolOp = Literal["and", "or"]

OPERATORS: tuple[Operator, ...] = ("=", "!=", "~", ">", "<", ">=", "<=")
_OPERATORS: dict[str, Operator] = {op: op for op in OPERATORS}
MAX_DEPTH = 32  # nested parentheses
MAX_LENGTH = 10_000  # characters
MAX_CONDITIONS = 500

ATTRIBUTES: dict[str, str] = {
    "name": "text",
    "uuid": "text",
    "language": "text",
    "status": "text",
    "created_on": "datetime",
    "last_seen_on": "datetime",
    "urn": "text",
}
NO_SET_CHECK = frozenset({"uuid", "status", "created_on"})
STATUSES = frozenset({"active", "blocked", "stopped", "archived"})

# RapidPro's URN schemes (temba/contacts/models.py URN.VALID_SCHEMES / goflow urns)
SCHEMES = frozenset(
    {
        "discord",
        "ext",
        "facebook",
        "fcm",
        "freshchat",
        "instagram",
        "jiochat",
        "line",
        "mailto",
        "rocketchat",
        "slack",
        "teams",
        "telegram",
        "tel",
        "twitter",
        "twitterid",
        "viber",
        "vk",
        "webchat",
        "wechat",
        "whatsapp",
    }
)

# field value types (relaydesk.models.FieldType) → how conditions compare them
FIELD_TYPES: dict[str, str] = {
    "text": "text",
    "number": "number",
    "numeric": "number",
    "datetime": "datetime",
    "state": "text",
    "district": "text",
    "ward": "text",
}

MIN_NAME_TOKEN = 2  # RapidPro: name ~ uses tokens of at least 2 characters
MIN_URN_CONTAINS = 3  # RapidPro: urn ~ needs at least 3 characters
NAME_PREFIX_LENGTH = 8  # tokens compared on their first 8 characters (ES edge n-grams)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PLAIN_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # rendered without quotes
_PHONE_RE = re.compile(r"\+?[0-9]{5,}")
_PROPERTY_RE = re.compile(r"[\w.]+")
_TOKEN_RE = re.compile(r"\w+")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_LOCAL_DATE_RE = re.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})")


class QueryError(ValueError):
    """An invalid query; ``message`` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    prop: str  # as written, lower-cased: "name", "fields.age", "tel", …
    op: Operator
    value: str


@dataclass(frozen=True)
class Combination:
    op: BoolOp
    children: tuple[Node, ...]


Node = Condition | Combination


def combine(op: BoolOp, nodes: Sequence[Node]) -> Node:
    """``op`` over ``nodes``, flattening children of the same operator (RapidPro's Simplify)."""
    flat: list[Node] = []
    for node in nodes:
        if isinstance(node, Combination) and node.op == op:
            flat.extend(node.children)
        else:
            flat.append(node)
    if len(flat) == 1:
        return flat[0]
    return Combination(op, tuple(flat))


def simplify(node: Node) -> Node:
    """The canonical form of ``node``: what ``parse(render(node))`` returns."""
    if isinstance(node, Condition):
        return node
    return combine(node.op, [simplify(child) for child in node.children])


# -- rendering ---------------------------------------------------------------------------------


def _quote(value: str) -> str:
    if _PLAIN_NUMBER_RE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(node: Node, nested: bool) -> str:
    if isinstance(node, Condition):
        return f"{node.prop} {node.op} {_quote(node.value)}"
    text = f" {node.op.upper()} ".join(_render(child, True) for child in node.children)
    return f"({text})" if nested else text


def render(node: Node) -> str:
    """Canonical text: ``age > 18 AND (name ~ "bob" OR tel = "+250788123123")``."""
    return _render(node, False)


# -- tokenizer ---------------------------------------------------------------------------------

_WORD_STOP = frozenset('()"=~<>')


@dataclass(frozen=True)
class _Token:
    kind: Literal["lparen", "rparen", "and", "or", "op", "word", "string"]
    text: str  # the value (decoded for strings)
    raw: str  # as written, for error messages


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("lparen", ch, ch))
            i += 1
        elif ch == ")":
            tokens.append(_Token("rparen", ch, ch))
            i += 1
        elif ch in "=~<>" or (ch == "!" and text.startswith("!=", i)):
            two = text[i : i + 2]
            if two in ("!=", ">=", "<="):
                tokens.append(_Token("op", two, two))
                i += 2
            else:
                tokens.append(_Token("op", ch, ch))
                i += 1
        elif ch == '"':
            start = i
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise QueryError("Invalid query syntax: a quoted value is not closed.")
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    chars.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    chars.append(c)
                    i += 1
            tokens.append(_Token("string", "".join(chars), text[start:i]))
        else:
            start = i
            while i < n:
                c = text[i]
                if c.isspace() or c in _WORD_STOP or (c == "!" and text.startswith("!=", i)):
                    break
                i += 1
            word = text[start:i]
            lowered = word.lower()
            if lowered in ("and", "or"):
                tokens.append(_Token("and" if lowered == "and" else "or", lowered, word))
            else:
                tokens.append(_Token("word", word, word))
    return tokens


# -- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.conditions = 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise QueryError("Invalid query syntax: the query ends unexpectedly.")
        self.pos += 1
        return token

    @staticmethod
    def unexpected(token: _Token) -> QueryError:
        return QueryError(f"Invalid query syntax at '{token.raw}'.")

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("Query cannot be empty.")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise self.unexpected(token)
        return node

    def or_expr(self) -> Node:
        nodes = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.pos += 1
            nodes.append(self.and_expr())
        return combine("or", nodes)

    def and_expr(self) -> Node:
        nodes = [self.unary()]
        while (token := self.peek()) is not None:
            if token.kind == "and":
                self.pos += 1
            elif token.kind not in ("lparen", "word", "string"):
                break
            nodes.append(self.unary())
        return combine("and", nodes)

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError("This query is too complex. Please simplify it and try again.")
            node = self.or_expr()
            closing = self.take()
            if closing.kind != "rparen":
                raise self.unexpected(closing)
            self.depth -= 1
            return node
        if token.kind == "word":
            following = self.peek()
            if following is not None and following.kind == "op":
                return self.condition(token)
            return self.implicit(token.text)
        if token.kind == "string":
            return self.implicit(token.text)
        raise self.unexpected(token)

    def count(self) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise QueryError("This query is too complex. Please simplify it and try again.")

    def condition(self, prop: _Token) -> Condition:
        key = prop.text.lower()
        if not _PROPERTY_RE.fullmatch(key):
            raise self.unexpected(prop)
        op = _OPERATORS[self.take().text]
        value = self.take()
        if value.kind not in ("word", "string"):
            raise self.unexpected(value)
        self.count()
        return Condition(key, op, value.text)

    def implicit(self, value: str) -> Condition:
        """A bare value searches names (or telephone numbers), as in RapidPro."""
        self.count()
        if _PHONE_RE.fullmatch(value):
            return Condition("tel", "~", value.lstrip("+"))
        return Condition("name", "~", value)


def parse(text: str) -> Node:
    """Syntax only: the (simplified) AST of ``text``, or :class:`QueryError`."""
    if len(text) > MAX_LENGTH:
        raise QueryError("This query is too complex. Please simplify it and try again.")
    return _Parser(_tokenize(text.strip())).parse()


# -- contact data ------------------------------------------------------------------------------


@dataclass
class ContactData:
    """What a query looks at: one contact, its field values and URNs (scheme, path)."""

    id: int
    uuid: str
    name: str | None
    language: str | None
    status: str
    created_on: datetime
    last_seen_on: datetime | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    urns: Sequence[tuple[str, str]] = ()


def _field_text(raw: Any) -> str | None:
    if isinstance(raw, dict):
        raw = raw.get("text", raw.get("value"))
    if raw is None or isinstance(raw, bool | dict | list):
        return None
    text = str(raw).strip()
    return text or None


def _field_number(raw: Any) -> Decimal | None:
    if isinstance(raw, dict):
        raw = raw["number"] if "number" in raw else raw.get("text", raw.get("value"))
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
    if isinstance(raw, str):
        return _parse_number(raw.strip())
    return None


def _field_datetime(raw: Any) -> datetime | None:
    if isinstance(raw, dict):
        raw = raw["datetime"] if "datetime" in raw else raw.get("text", raw.get("value"))
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, str) and raw.strip():
        return parse_datetime(raw)
    return None


def _parse_number(text: str) -> Decimal | None:
    if not _NUMBER_RE.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only finite numbers
        return None


def _parse_date(text: str, date_style: str) -> date | None:
    """A day: ISO ``YYYY-MM-DD[Thh:mm…]`` or the workspace's style (day/month/year first)."""
    text = text.strip()
    try:
        iso = _ISO_DATE_RE.fullmatch(text)
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        local = _LOCAL_DATE_RE.fullmatch(text)
        if local:
            a, b, c = (int(part) for part in local.groups())
            if len(local[1]) == 4 or date_style == "year_first":
                return date(a, b, c)
            year = c + 2000 if len(local[3]) <= 2 else c
            if date_style == "month_first":
                return date(year, a, b)
            return date(year, b, a)
    except ValueError:
        return None
    return None


# -- compiling ---------------------------------------------------------------------------------

Predicate = Callable[[ContactData], bool]
Values = Callable[[ContactData], list[Any]]


@dataclass(frozen=True)
class Property:
    kind: Literal["attribute", "scheme", "field"]
    key: str
    value_type: str  # text | number | datetime


def resolve_property(prop: str, fields: Mapping[str, str]) -> Property:
    """``prop`` → attribute, URN scheme or field (``fields``: key → value type)."""
    if "." in prop:
        prefix, _, key = prop.partition(".")
        if prefix == "fields" and key in fields:
            return Property("field", key, FIELD_TYPES.get(fields[key], "text"))
        if prefix == "urns" and key in SCHEMES:
            return Property("scheme", key, "text")
        if prefix in ("fields", "urns"):
            raise QueryError(f"Can't resolve '{key}' to a field or URN scheme.")
        raise QueryError("Prefixes must be 'fields' or 'urns'.")
    if prop in ATTRIBUTES:
        return Property("attribute", prop, ATTRIBUTES[prop])
    if prop in SCHEMES:
        return Property("scheme", prop, "text")
    if prop in fields:
        return Property("field", prop, FIELD_TYPES.get(fields[prop], "text"))
    raise QueryError(f"Can't resolve '{prop}' to a field or URN scheme.")


def _values(prop: Property) -> Values:
    key = prop.key
    if prop.kind == "scheme":
        return lambda c: [path for scheme, path in c.urns if scheme == key]
    if prop.kind == "field":
        extract: Callable[[Any], Any] = {
            "number": _field_number,
            "datetime": _field_datetime,
        }.get(prop.value_type, _field_text)

        def field_values(c: ContactData) -> list[Any]:
            value = extract(c.fields.get(key)) if c.fields else None
            return [] if value is None else [value]

        return field_values
    if key == "urn":
        return lambda c: [path for _, path in c.urns]

    def attribute(c: ContactData) -> list[Any]:
        value = getattr(c, key)
        return [] if value is None or value == "" else [value]

    return attribute


def _text_test(op: Operator, query: str, is_name: bool) -> Callable[[Any], bool]:
    wanted = query.strip().lower()
    if op == "=":
        return lambda v: str(v).strip().lower() == wanted
    if op == "!=":
        return lambda v: str(v).strip().lower() != wanted
    if is_name:
        query_tokens = [t[:NAME_PREFIX_LENGTH] for t in _name_tokens(wanted)]
        return lambda v: any(
            t[:NAME_PREFIX_LENGTH].startswith(q)
            for t in _name_tokens(str(v).lower())
            for q in query_tokens
        )
    return lambda v: wanted in str(v).strip().lower()


def _name_tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_RE.findall(text) if len(t) >= MIN_NAME_TOKEN]


def _number_test(op: Operator, wanted: Decimal) -> Callable[[Any], bool]:
    tests: dict[str, Callable[[Decimal], bool]] = {
        "=": lambda v: v == wanted,
        "!=": lambda v: v != wanted,
        ">": lambda v: v > wanted,
        ">=": lambda v: v >= wanted,
        "<": lambda v: v < wanted,
        "<=": lambda v: v <= wanted,
    }
    return tests[op]


def _date_test(op: Operator, day: date, tz: tzinfo) -> Callable[[Any], bool]:
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    tests: dict[str, Callable[[datetime], bool]] = {
        "=": lambda v: start <= v < end,
        "!=": lambda v: not (start <= v < end),
        ">": lambda v: v >= end,
        ">=": lambda v: v >= start,
        "<": lambda v: v < start,
        "<=": lambda v: v < end,
    }
    return tests[op]


@dataclass(frozen=True)
class QueryEnv:
    """The workspace settings a query depends on."""

    timezone: str = "UTC"
    date_style: str = "day_first"
    anon: bool = False

    @property
    def tz(self) -> tzinfo:
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, KeyError, OSError):
            return UTC


def _compile_condition(cond: Condition, fields: Mapping[str, str], env: QueryEnv) -> Predicate:
    prop = resolve_property(cond.prop, fields)
    op, value = cond.op, cond.value
    is_urn = prop.kind == "scheme" or (prop.kind == "attribute" and prop.key == "urn")
    if is_urn and env.anon:
        raise QueryError("Can't query on URNs in an anonymous workspace.")

    if op == "~":
        if prop.kind == "attribute" and prop.key == "name":
            if not _name_tokens(value.lower()):
                raise QueryError(
                    f"Using ~ with name requires token of at least {MIN_NAME_TOKEN} characters."
                )
        elif is_urn:
            if len(value) < MIN_URN_CONTAINS:
                raise QueryError(
                    f"Using ~ with URN requires value of at least {MIN_URN_CONTAINS} characters."
                )
        else:
            raise QueryError("Can only use ~ with name or URN values.")
    elif op in (">", ">=", "<", "<=") and prop.value_type not in ("number", "datetime"):
        raise QueryError(f"Can only use {op} with number or date values.")

    values = _values(prop)
    if op in ("=", "!=") and value == "":
        if prop.kind == "attribute" and prop.key in NO_SET_CHECK:
            raise QueryError(f"Can't check whether '{prop.key}' is set or not set.")
        if op == "=":
            return lambda c: not values(c)
        return lambda c: bool(values(c))

    test: Callable[[Any], bool]
    if prop.value_type == "number":
        number = _parse_number(value.strip())
        if number is None:
            raise QueryError(f"Unable to convert '{value}' to a number.")
        test = _number_test(op, number)
    elif prop.value_type == "datetime":
        day = _parse_date(value, env.date_style)
        if day is None:
            raise QueryError(f"Unable to convert '{value}' to a date.")
        test = _date_test(op, day, env.tz)
    else:
        if prop.kind == "attribute" and prop.key == "status":
            if value.strip().lower() not in STATUSES:
                raise QueryError(f"'{value}' is not a valid contact status")
        elif (
            prop.kind == "attribute"
            and prop.key == "language"
            and not is_language(value.strip().lower())
        ):
            raise QueryError(f"'{value}' is not a valid language code.")
        test = _text_test(op, value, prop.kind == "attribute" and prop.key == "name")

    if op == "!=":

        def differs(c: ContactData) -> bool:
            found = values(c)
            return bool(found) and all(test(v) for v in found)

        return differs
    return lambda c: any(test(v) for v in values(c))


def _compile(node: Node, fields: Mapping[str, str], env: QueryEnv) -> Predicate:
    if isinstance(node, Condition):
        return _compile_condition(node, fields, env)
    children = [_compile(child, fields, env) for child in node.children]
    if node.op == "and":
        return lambda c: all(child(c) for child in children)
    return lambda c: any(child(c) for child in children)


@dataclass(frozen=True)
class CompiledQuery:
    text: str  # canonical form (stored on the group)
    ast: Node
    matches: Predicate


def compile_query(
    text: str, fields: Mapping[str, str], env: QueryEnv | None = None
) -> CompiledQuery:
    """Parse and validate ``text`` against the workspace's ``fields`` (key → value type)."""
    ast = parse(text)
    matches = _compile(ast, fields, env or QueryEnv())
    return CompiledQuery(render(ast), ast, matches)


def field_keys(node: Node, fields: Mapping[str, str]) -> set[str]:
    """The contact field keys ``node`` uses (it must already compile)."""
    if isinstance(node, Combination):
        return set().union(*(field_keys(child, fields) for child in node.children))
    prop = resolve_property(node.prop, fields)
    return {prop.key} if prop.kind == "field" else set()
