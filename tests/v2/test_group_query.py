"""The smart-group query language: parser, renderer, validation and evaluation (pure Python).

Properties (hypothesis): rendering then parsing gives the same tree back; any text either
parses or fails with a clean ``QueryError`` (never another exception), and what parses is
stable under render → parse; compiled queries evaluate on any contact without crashing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relaydesk.domains.groups.query import (
    OPERATORS,
    Combination,
    Condition,
    ContactData,
    Node,
    QueryEnv,
    QueryError,
    compile_query,
    field_keys,
    parse,
    render,
    simplify,
)

TOO_COMPLEX = "This query is too complex. Please simplify it and try again."
FIELDS = {"age": "number", "joined": "datetime", "district": "district", "nick": "text"}


def person(**kw: Any) -> ContactData:
    base: dict[str, Any] = {
        "id": 1,
        "uuid": "0b7b1f2e-3c3f-4c5e-9a52-1d0c7e0f7f10",
        "name": "Ann Smith",
        "language": "eng",
        "status": "active",
        "created_on": datetime(2026, 1, 31, 22, 30, tzinfo=UTC),
        "last_seen_on": None,
        "fields": {},
        "urns": (),
    }
    base.update(kw)
    return ContactData(**base)


def matches(query: str, contact: ContactData, env: QueryEnv | None = None) -> bool:
    return compile_query(query, FIELDS, env).matches(contact)


# -- parsing and rendering ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("age > 18", "age > 18"),
        ("AGE>=18", "age >= 18"),
        ('name = "Ann"', 'name = "Ann"'),
        ("name=ann", 'name = "ann"'),
        ("a = 1 and b = 2 or c = 3", "(a = 1 AND b = 2) OR c = 3"),
        ("a = 1 or b = 2 and c = 3", "a = 1 OR (b = 2 AND c = 3)"),
        ("a = 1 b = 2", "a = 1 AND b = 2"),  # implicit AND
        ("a = 1 (b = 2 OR c = 3)", "a = 1 AND (b = 2 OR c = 3)"),
        ("(a = 1 AND (b = 2 AND c = 3))", "a = 1 AND b = 2 AND c = 3"),  # flattened
        ("((a = 1))", "a = 1"),
        ('name != ""', 'name != ""'),
        ('name = "say \\"hi\\" \\\\ bye"', 'name = "say \\"hi\\" \\\\ bye"'),
        ("tel = +250788123123", 'tel = "+250788123123"'),
        ("fields.age < 1.5", "fields.age < 1.5"),
        ("urns.tel ~ 0788", "urns.tel ~ 0788"),
        ("Bob", 'name ~ "Bob"'),  # a bare value searches names
        ('"Bob Smith"', 'name ~ "Bob Smith"'),
        ("+250788123", "tel ~ 250788123"),  # … or phone numbers
        ("name ~ bob OR Ann", 'name ~ "bob" OR name ~ "Ann"'),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    assert render(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_keywords_and_operators_are_case_insensitive() -> None:
    assert parse("a = 1 AnD b = 2 oR c = 3") == parse("a = 1 and b = 2 or c = 3")
    assert parse("age>18") == Condition("age", ">", "18")
    assert [parse(f"x {op} 1") for op in OPERATORS] == [Condition("x", op, "1") for op in OPERATORS]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Query cannot be empty."),
        ("   ", "Query cannot be empty."),
        ("age >", "Invalid query syntax: the query ends unexpectedly."),
        ("(age > 1", "Invalid query syntax: the query ends unexpectedly."),
        ("age > 1)", "Invalid query syntax at ')'."),
        ("age > > 1", "Invalid query syntax at '>'."),
        ("and age > 1", "Invalid query syntax at 'and'."),
        ("age > 1 or", "Invalid query syntax: the query ends unexpectedly."),
        ("name = and", "Invalid query syntax at 'and'."),
        ('"name" = 1', "Invalid query syntax at '='."),
        ("a-b = 1", "Invalid query syntax at 'a-b'."),
        ("()", "Invalid query syntax at ')'."),
        ('name = "open', "Invalid query syntax: a quoted value is not closed."),
        ("(" * 40 + "a = 1" + ")" * 40, TOO_COMPLEX),
        (" OR ".join(["a = 1"] * 501), TOO_COMPLEX),
        ("x" * 10_001, TOO_COMPLEX),
    ],
)
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.message == message


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("beers > 3", "Can't resolve 'beers' to a field or URN scheme."),
        ("fields.beers = 3", "Can't resolve 'beers' to a field or URN scheme."),
        ("fields.name = 3", "Can't resolve 'name' to a field or URN scheme."),
        ("urns.fax = 3", "Can't resolve 'fax' to a field or URN scheme."),
        ("foo.bar = 3", "Prefixes must be 'fields' or 'urns'."),
        ("age ~ 3", "Can only use ~ with name or URN values."),
        ("uuid ~ abc", "Can only use ~ with name or URN values."),
        ("name ~ a", "Using ~ with name requires token of at least 2 characters."),
        ("tel ~ 07", "Using ~ with URN requires value of at least 3 characters."),
        ("urn ~ 07", "Using ~ with URN requires value of at least 3 characters."),
        ("name > bob", "Can only use > with number or date values."),
        ("nick <= x", "Can only use <= with number or date values."),
        ('uuid = ""', "Can't check whether 'uuid' is set or not set."),
        ('status != ""', "Can't check whether 'status' is set or not set."),
        ('created_on = ""', "Can't check whether 'created_on' is set or not set."),
        ("age > old", "Unable to convert 'old' to a number."),
        ("age = NaN", "Unable to convert 'NaN' to a number."),
        ("joined > tomorrow", "Unable to convert 'tomorrow' to a date."),
        ("created_on = 2026-02-30", "Unable to convert '2026-02-30' to a date."),
        ("language = xx", "'xx' is not a valid language code."),
        ("status = sleeping", "'sleeping' is not a valid contact status"),
    ],
)
def test_validation_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(text, FIELDS)
    assert caught.value.message == message


def test_anonymous_workspaces_cant_query_urns() -> None:
    anon = QueryEnv(anon=True)
    for text in ("tel = +250788", "urn ~ 0788", "urns.whatsapp = 1", "250788123"):
        with pytest.raises(QueryError) as caught:
            compile_query(text, FIELDS, anon)
        assert caught.value.message == "Can't query on URNs in an anonymous workspace."
    compile_query("name ~ ann", FIELDS, anon)


def test_field_keys() -> None:
    ast = parse("age > 1 OR (fields.district = x AND name ~ ann AND joined < 2020-01-01)")
    assert field_keys(ast, FIELDS) == {"age", "district", "joined"}


# -- evaluation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "ann smith"', True),
        ("name = ann", False),
        ("name != ann", True),
        ("name ~ smi", True),  # prefix of a word
        ("name ~ mith", False),  # not a prefix
        ('name ~ "xx sm"', True),  # any query token
        ('name = ""', False),
        ('name != ""', True),
        ("language = ENG", True),
        ('language != ""', True),
        ("status = Active", True),
        ("status = blocked", False),
        ("uuid = 0B7B1F2E-3C3F-4C5E-9A52-1D0C7E0F7F10", True),
        ("age = 30", True),
        ("age = 30.0", True),
        ("age > 29.5", True),
        ("age >= 31", False),
        ("age < 31 AND age > 29", True),
        ("age != 30", False),
        ('age = ""', False),
        ('age != ""', True),
        ('district = "GASABO"', True),
        ("nick = x", False),  # no value: only = "" matches
        ("nick != x", False),
        ('nick = ""', True),
        ("tel = +250788000001", True),
        ("tel ~ 788000", True),
        ("tel != +250788000001", False),  # != needs every value to differ
        ("tel != +250788999999", True),
        ("whatsapp ~ 2507", True),
        ("urn ~ 250788000001", True),
        ('telegram = ""', True),
        ('urns.tel != ""', True),
        ("twitter = ann", False),
        ("age > 18 AND (name ~ bob OR tel ~ 0001)", True),
        ("age > 18 AND name ~ bob", False),
        ("Ann", True),
        ("250788000001", True),
    ],
)
def test_evaluation(text: str, expected: bool) -> None:
    ann = person(
        fields={"age": "30", "district": "Gasabo", "nick": ""},
        urns=(("tel", "+250788000001"), ("tel", "+250788000009"), ("whatsapp", "250788000001")),
    )
    assert matches(text, ann) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # created 2026-01-31 22:30 UTC = 2026-02-01 00:30 in Kigali (UTC+2)
        ("created_on = 2026-02-01", True),
        ("created_on = 2026-01-31", False),
        ("created_on > 2026-01-31", True),
        ("created_on >= 2026-02-01", True),
        ("created_on > 2026-02-01", False),
        ("created_on < 2026-02-02", True),
        ("created_on <= 2026-02-01", True),
        ("created_on < 2026-02-01", False),
        ("created_on != 2026-02-01", False),
        ("created_on = 01-02-2026", True),  # the workspace's date style: day first
        ("created_on = 1/2/26", True),
        ("created_on = 2026-02-01T23:59:00", True),  # the time is ignored
        ("last_seen_on > 2000-01-01", False),
        ('last_seen_on = ""', True),
        ("joined = 2026-02-01", True),
        ("joined < 2026-02-01", False),
    ],
)
def test_dates_compare_by_day_in_the_workspace_time_zone(text: str, expected: bool) -> None:
    env = QueryEnv(timezone="Africa/Kigali", date_style="day_first")
    contact = person(fields={"joined": "2026-02-01T09:00:00+02:00"})
    assert matches(text, contact, env) is expected


def test_month_first_dates() -> None:
    env = QueryEnv(timezone="UTC", date_style="month_first")
    assert matches("created_on = 01/31/2026", person(), env)
    with pytest.raises(QueryError):
        compile_query("created_on = 31/01/2026", FIELDS, env)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("30", True),
        (30, True),
        (30.0, True),
        ({"number": "30"}, True),
        ({"text": "30"}, True),
        ("thirty", False),  # doesn't parse as a number: no value
        (True, False),
        (None, False),
        ([30], False),
    ],
)
def test_number_values_in_any_stored_form(stored: Any, expected: bool) -> None:
    assert matches("age = 30", person(fields={"age": stored})) is expected


def test_unknown_time_zone_is_utc() -> None:
    assert matches("created_on = 2026-01-31", person(), QueryEnv(timezone="Mars/Olympus"))


# -- properties --------------------------------------------------------------------------------

KEYS = st.sampled_from(
    ["name", "age", "fields.age", "tel", "urns.tel", "status", "language", "x_1", "é", "created_on"]
)
VALUES = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,2})?", fullmatch=True),
    st.sampled_from(["and", "OR", "(", ")", '"', "\\", "a b", ""]),
)
CONDITIONS = st.builds(Condition, KEYS, st.sampled_from(OPERATORS), VALUES)
TREES: st.SearchStrategy[Node] = st.recursive(
    CONDITIONS,
    lambda children: st.builds(
        Combination,
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=2, max_size=4).map(tuple),
    ),
    max_leaves=12,
)
QUERY_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "age",
                "name",
                "tel",
                ">",
                "=",
                "!=",
                "~",
                "<=",
                "(",
                ")",
                "and",
                "OR",
                '"x y"',
                "18",
                "bob",
                '"',
                "\\",
                "fields.age",
                "foo.bar",
                "2026-01-01",
                " ",
            ]
        ),
        max_size=14,
    ).map(" ".join),
)


@given(TREES)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_render_then_parse_round_trips(tree: Node) -> None:
    canonical = simplify(tree)
    assert parse(render(canonical)) == canonical


def attempt(text: str) -> tuple[Node | None, str]:
    """(AST or None, error message or ""): only QueryError may come out of parse/compile."""
    try:
        ast = parse(text)
    except QueryError as exc:
        return None, exc.message
    try:
        compile_query(text, FIELDS)
    except QueryError as exc:
        return ast, exc.message
    return ast, ""


@given(QUERY_TEXT)
@settings(max_examples=500)
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    ast, error = attempt(text)
    if ast is None:
        assert error  # a syntax error, with a message
        return
    assert parse(render(ast)) == ast
    if error:  # parses but doesn't validate: the canonical text gets the same verdict
        assert attempt(render(ast)) == (ast, error)
        return
    compiled = compile_query(text, FIELDS)
    assert compiled.text == render(ast)
    assert compile_query(compiled.text, FIELDS).text == compiled.text
    nobody = person(name=None, language=None, fields={"age": "x"}, urns=(("tel", "1"),))
    for contact in (person(), nobody):
        assert isinstance(compiled.matches(contact), bool)


FIELD_VALUES = st.dictionaries(
    st.sampled_from(list(FIELDS)), st.one_of(st.none(), st.text(max_size=8), st.integers())
)


@given(TREES, FIELD_VALUES)
@settings(max_examples=300)
def test_valid_trees_evaluate_without_errors(tree: Node, fields: dict[str, Any]) -> None:
    try:
        compiled = compile_query(render(tree), FIELDS)
    except QueryError:
        return
    contact = person(fields=fields, urns=(("tel", "+250788"),))
    assert isinstance(compiled.matches(contact), bool)
