"""The official RapidPro client (``rapidpro-python``, module ``temba_client``), unmodified,
against a real ``relaydesk serve`` process on SQLite and on PostgreSQL.

What the client (2.21) does, from its source:
- ``TembaClient(host, token)``: a host starting with "http" is used as is (scheme and port kept,
  one trailing slash trimmed); anything else gets "https://" prepended. The root is
  ``<host>/api/v2`` and every endpoint is ``<root>/<name>.json``.
- ``get_org()`` GETs ``/api/v2/org.json`` (there is no ``get_workspace()``) and builds an ``Org``
  from uuid, name, country, languages (must be a list), primary_language, timezone, date_style
  and anon; other keys (our ``credits``) are ignored.
- 403 raises ``TembaTokenError`` whatever the body; 404 ``TembaNoSuchObjectError``; 400
  ``TembaBadRequestError``; 429 ``TembaRateExceededError(int(Retry-After))``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
from temba_client.exceptions import TembaConnectionError, TembaTokenError
from temba_client.v2 import TembaClient
from temba_client.v2.types import Org

from tests.test_e2e_serve import cli, cli_json, fresh_database, provision, server

ORG_FIELDS = [
    "uuid",
    "name",
    "country",
    "languages",
    "primary_language",
    "timezone",
    "date_style",
    "anon",
]


@dataclass
class Live:
    base: str
    env: dict[str, str]
    demo: str  # the demo company token from the banner
    acme: str  # uuid of a workspace made with the CLI
    acme_token: str  # a company token of that workspace


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per backend for the whole module."""
    tmp_path = tmp_path_factory.mktemp(f"rapidpro_{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(fresh_database(str(request.param), tmp_path))
        base, out, _log = stack.enter_context(server(env, tmp_path))
        banner = out.read_text()
        match = re.search(r"company token\s*:\s*(rd_\w+)", banner)
        assert match, banner
        acme, token = provision(
            env,
            "Acme Rwanda",
            "--country",
            "RW",
            "--language",
            "kin",
            "--language",
            "eng",
            "--timezone",
            "Africa/Kigali",
            email="ops@acme.example",
            token_options=("--name", "rapidpro-python"),
        )
        yield Live(base, env, match.group(1), acme, token)


def raw_workspace(base: str, token: str, path: str = "/api/v2/workspace.json") -> dict[str, object]:
    response = httpx.get(f"{base}{path}", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def assert_org_matches(org: Org, raw: dict[str, object]) -> None:
    assert isinstance(org, Org)
    for field in ORG_FIELDS:
        assert field in raw, field
        assert getattr(org, field) == raw[field], field
    assert org.serialize() == {field: raw[field] for field in ORG_FIELDS}


def test_get_org_demo_workspace(live: Live) -> None:
    raw = raw_workspace(live.base, live.demo)
    assert raw == raw_workspace(live.base, live.demo, "/api/v2/org.json")
    org = TembaClient(live.base, live.demo).get_org()
    assert_org_matches(org, raw)
    assert org.name == "Demo Workspace"
    assert isinstance(org.languages, list)
    assert isinstance(org.anon, bool)


def test_get_org_cli_workspace(live: Live) -> None:
    raw = raw_workspace(live.base, live.acme_token)
    org = TembaClient(live.base, live.acme_token).get_org()
    assert_org_matches(org, raw)
    assert org.uuid == live.acme
    assert org.name == "Acme Rwanda"
    assert org.country == "RW"
    assert org.languages == ["kin", "eng"]
    assert org.primary_language == "kin"
    assert org.timezone == "Africa/Kigali"
    assert org.date_style in {"day_first", "month_first", "year_first"}
    assert org.anon is False


def test_host_forms(live: Live) -> None:
    # a trailing slash is trimmed; the rate-limit retry path is the same request on a 200
    org = TembaClient(f"{live.base}/", live.demo, user_agent="relaydesk-tests").get_org(
        retry_on_rate_exceed=True
    )
    assert org.name == "Demo Workspace"
    # without a scheme the client speaks https, which a plain-http server cannot answer
    bare = live.base.removeprefix("http://")
    with pytest.raises(TembaConnectionError):
        TembaClient(bare, live.demo).get_org()


@pytest.mark.parametrize("bad", ["", "nonsense", "rd_"])
def test_invalid_token_raises_token_error(live: Live, bad: str) -> None:
    with pytest.raises(TembaTokenError):
        TembaClient(live.base, bad).get_org()


def test_typo_in_real_token_raises_token_error(live: Live) -> None:
    typo = live.demo[:-1] + ("x" if live.demo[-1] != "x" else "y")
    with pytest.raises(TembaTokenError):
        TembaClient(live.base, typo).get_org()


def test_revoked_token_raises_token_error(live: Live) -> None:
    created = cli_json(
        live.env,
        "token",
        "create",
        "--workspace",
        live.acme,
        "--user",
        "ops@acme.example",
        "--kind",
        "company",
        "--name",
        "to-revoke",
    )
    assert isinstance(created, dict)
    client = TembaClient(live.base, created["token"])
    assert client.get_org().uuid == live.acme
    cli(live.env, "token", "revoke", created["prefix"])
    with pytest.raises(TembaTokenError):
        client.get_org()
    # the other token of the same workspace is untouched
    assert TembaClient(live.base, live.acme_token).get_org().uuid == live.acme
