import base64

import pytest

from relaydesk.exceptions import InvalidAuth, NotAuthenticated
from relaydesk.infra.auth.header import extract_key

KEY = "rd_" + "a" * 42


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "header",
    [
        f"Token {KEY}",
        f"token {KEY}",
        f"Bearer {KEY}",
        f"  Bearer   {KEY} ",
        basic(KEY, ""),
        basic("someone@example.com", KEY),
        basic(KEY, "x"),
    ],
)
def test_schemes_yield_the_key(header: str) -> None:
    assert extract_key(header) == KEY


@pytest.mark.parametrize("header", [None, "", "Digest abc", "Tokenabc"])
def test_missing_credentials(header: str | None) -> None:
    with pytest.raises(NotAuthenticated) as excinfo:
        extract_key(header)
    assert excinfo.value.message == "Authentication credentials were not provided."


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Token", "Invalid token header. No credentials provided."),
        ("Bearer ", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Credentials string should not contain spaces."),
        ("Basic", "Invalid basic header. No credentials provided."),
        ("Basic !!!notbase64", "Invalid basic header. Credentials not correctly base64 encoded."),
        ("Basic " + base64.b64encode(b"nocolon").decode(), "not correctly base64 encoded"),
    ],
)
def test_malformed_headers(header: str, message: str) -> None:
    with pytest.raises(InvalidAuth) as excinfo:
        extract_key(header)
    assert message in excinfo.value.message
