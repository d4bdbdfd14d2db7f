"""Acceptance: sign in to a real ``relaydesk serve`` process (loopback) with the demo
administrator it prints, on SQLite and PostgreSQL, with a real cookie jar."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.test_e2e_serve import database_text, fresh_database, server

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(agent: httpx.Client, path: str = "/login") -> str:
    page = agent.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_demo_admin_signs_in_and_out(backend: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        env = stack.enter_context(fresh_database(backend, tmp_path))
        base, out, _log = stack.enter_context(server(env, tmp_path))
        banner = out.read_text()
        match = re.search(r"admin login\s*:\s*(\S+) / (\S+)", banner)
        assert match, banner
        email, password = match.groups()
        agent = stack.enter_context(httpx.Client(base_url=base))

        # a cross-site post (no CSRF cookie or field) is refused
        forged = httpx.post(f"{base}/login", data={"email": email, "password": password})
        assert forged.status_code == 403

        wrong = agent.post(
            "/login",
            data={"email": email, "password": password + "x", "csrf_token": _token(agent)},
        )
        assert wrong.status_code == 400
        assert "Invalid email or password." in wrong.text

        answer = agent.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "csrf_token": _token(agent),
                "next": "/api/v2/",
            },
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/api/v2/"
        session_id = agent.cookies["relaydesk_session"]
        assert f"signed in as <strong>{email}</strong>" in agent.get("/login").text
        # only the hash of the session id is stored
        assert session_id.encode() not in database_text(backend, env, tmp_path)

        bye = agent.post("/logout", data={"csrf_token": _token(agent)})
        assert bye.status_code == 303
        assert "signed in as" not in agent.get("/login").text
        replay = httpx.get(f"{base}/login", cookies={"relaydesk_session": session_id})
        assert "signed in as" not in replay.text
