"""Acceptance against a real ``relaydesk serve`` on loopback (SQLite and PostgreSQL): a JWT
verifies with PyJWT's ``PyJWKClient`` against the served JWKS; ``relaydesk keys rotate`` run
as another process reaches the server; ``relaydesk token revoke`` stops the key's JWTs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import jwt as pyjwt
from tests.test_e2e_serve import cli, cli_json, fresh_database, provision, server

DOCS = Path(__file__).resolve().parents[2] / "docs" / "auth.md"


def doc_snippets() -> list[str]:
    """The Python examples of docs/auth.md's JWT section."""
    text = DOCS.read_text()
    section = text[text.index("## JWTs from v3 API keys") :]
    section = section[: section.index("\n## ", 1)]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def exchange(base: str, api_key: str) -> str:
    response = httpx.post(f"{base}/api/v3/jwts", json={"api_key": api_key})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    return str(body["token"])


def verify(jwks: pyjwt.PyJWKClient, base: str, token: str) -> dict[str, object]:
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, object] = pyjwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience="relaydesk-api",
        issuer=base,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return claims


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_live_jwt_jwks_rotation_and_revocation(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as env, server(env, tmp_path) as (base, _out, _log):
        workspace, api_key = provision(env, "Jwt Live", token_options=("--api-version", "v3"))
        token = exchange(base, api_key)
        jwks = pyjwt.PyJWKClient(f"{base}/.well-known/jwks.json", cache_keys=True)
        claims = verify(jwks, base, token)
        assert claims["workspace"] == workspace
        me = httpx.get(f"{base}/api/v3/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["credential"] == "jwt"
        assert me.json()["user"]["uuid"] == claims["sub"]

        # the documentation's examples, as written (but for the host and key)
        snippets = doc_snippets()
        assert len(snippets) == 2
        namespace: dict[str, Any] = {}
        for code in snippets:
            code = code.replace("https://relaydesk.example.com", base).replace("rd_…", api_key)
            exec(compile(code, str(DOCS), "exec"), namespace)
        assert namespace["verify"](token)["workspace"] == workspace

        # rotate from another process: the new key is in the JWKS at once and signs after the
        # activation delay (2 s here); the old JWT stays valid
        env = {**env, "RELAYDESK_JWT_KEY_ACTIVATION_SECONDS": "2"}
        rotated = cli_json(env, "keys", "rotate")
        assert isinstance(rotated, dict)
        assert rotated["signing"] is False
        served = httpx.get(f"{base}/.well-known/jwks.json").json()
        assert rotated["kid"] in [k["kid"] for k in served["keys"]]
        fresh = pyjwt.PyJWKClient(f"{base}/.well-known/jwks.json")  # fetched after the rotation
        assert pyjwt.get_unverified_header(exchange(base, api_key))["kid"] != rotated["kid"]
        time.sleep(2.5)
        newer = exchange(base, api_key)
        assert pyjwt.get_unverified_header(newer)["kid"] == rotated["kid"]
        for client in (fresh, pyjwt.PyJWKClient(f"{base}/.well-known/jwks.json")):
            assert verify(client, base, newer)["workspace"] == workspace
            assert verify(client, base, token)["jti"] == claims["jti"]
        for jwt in (token, newer):
            response = httpx.get(f"{base}/api/v3/me", headers={"Authorization": f"Bearer {jwt}"})
            assert response.status_code == 200

        # revoke the key from another process: its JWTs stop at once
        tokens = cli_json(env, "token", "list", "--workspace", workspace)
        assert isinstance(tokens, list)
        cli(env, "token", "revoke", str(tokens[0]["id"]))
        for jwt in (token, newer):
            response = httpx.get(f"{base}/api/v3/me", headers={"Authorization": f"Bearer {jwt}"})
            assert response.status_code == 401, response.text
