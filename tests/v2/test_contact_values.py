"""The number renderer's fast path (canonical stored text as is) agrees with the full parse."""

from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.domains.contacts.values import format_number, parse_number, render

numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,20})?", fullmatch=True),
    st.text(max_size=12),
)


@settings(max_examples=500)
@given(text=numbers)
def test_number_fast_path_matches_full_parse(text: str) -> None:
    parsed = parse_number(text)
    expected = format_number(parsed) if parsed is not None else None
    assert render("number", text, timezone="UTC") == expected
