"""The real thing: ``relaydesk serve`` and the CLI as separate processes, on SQLite and
PostgreSQL. Also proves that no token plaintext reaches the database or the logs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.services import PG_HOST, PG_PORT, PG_USER, throwaway_pg_database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"RELAYDESK_DATA_DIR": str(tmp_path / "data"), "RELAYDESK_LOG_LEVEL": "info"}
    if backend == "sqlite":
        yield env
    else:
        with throwaway_pg_database() as url:
            yield {**env, "RELAYDESK_DATABASE_URL": url}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "relaydesk", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def cli_json(env: dict[str, str], *args: str) -> object:
    return json.loads(cli(env, *args, "--json").stdout)


def provision(
    env: dict[str, str],
    name: str,
    *workspace_options: str,
    email: str | None = None,
    token_options: Sequence[str] = (),
) -> tuple[str, str]:
    """Through the CLI: ``workspace create NAME *workspace_options``, an administrator (``email``,
    by default ``admin@<name>.example``) and a company token of theirs (``token create`` with
    ``token_options`` added). Returns (workspace uuid, token plaintext)."""
    workspace = cli_json(env, "workspace", "create", name, *workspace_options)
    assert isinstance(workspace, dict)
    uuid = str(workspace["uuid"])
    email = email or f"admin@{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.example"
    user = cli_json(env, "user", "create", email, "--workspace", uuid, "--role", "administrator")
    assert isinstance(user, dict)
    token = cli_json(
        env,
        "token",
        "create",
        "--workspace",
        uuid,
        "--user",
        email,
        "--kind",
        "company",
        *token_options,
    )
    assert isinstance(token, dict)
    return uuid, str(token["token"])


@contextmanager
def server(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.log"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "relaydesk",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env={**os.environ, **env},
            stdout=out,
            stderr=err,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, err_path.read_text()
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
            yield base, out_path, err_path
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def database_text(backend: str, env: dict[str, str], tmp_path: Path) -> bytes:
    if backend == "sqlite":
        return b"".join(p.read_bytes() for p in (tmp_path / "data").glob("relaydesk.db*"))
    database = env["RELAYDESK_DATABASE_URL"].rsplit("/", 1)[1]

    async def dump() -> bytes:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)
        try:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            chunks = []
            for table in tables:
                rows = await conn.fetch(f'SELECT * FROM "{table["tablename"]}"')
                chunks.append(repr([dict(r) for r in rows]).encode())
            return b"".join(chunks)
        finally:
            await conn.close()

    return asyncio.run(dump())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_demo_cli_revoke_and_no_plaintext_at_rest(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as env:
        with server(env, tmp_path) as (base, out, log):
            banner = out.read_text()
            match = re.search(r"company token\s*:\s*(rd_\w+)", banner)
            assert match, banner
            demo = match.group(1)
            assert f"API host: {base}" in banner
            ws = httpx.get(
                f"{base}/api/v2/workspace.json", headers={"Authorization": f"Token {demo}"}
            )
            assert ws.status_code == 200
            assert ws.json()["name"] == "Demo Workspace"

            created = cli_json(
                env, "workspace", "create", "Acme", "--plan", "pro", "--country", "RW"
            )
            assert isinstance(created, dict)
            uuid = created["uuid"]
            cli_json(
                env,
                "user",
                "create",
                "ops@acme.example",
                "--workspace",
                uuid,
                "--role",
                "administrator",
            )
            cli_json(
                env, "user", "create", "dev@acme.example", "--workspace", uuid, "--role", "editor"
            )
            company = cli_json(
                env,
                "token",
                "create",
                "--workspace",
                uuid,
                "--user",
                "ops@acme.example",
                "--kind",
                "company",
                "--name",
                "integration",
            )
            personal = cli_json(
                env,
                "token",
                "create",
                "--workspace",
                uuid,
                "--user",
                "dev@acme.example",
                "--api-version",
                "v3",
                "--expires-in-days",
                "7",
            )
            assert isinstance(company, dict)
            assert isinstance(personal, dict)
            secrets_seen = [demo, company["token"], personal["token"]]

            listed = cli_json(env, "token", "list", "--workspace", uuid)
            assert isinstance(listed, list)
            assert len(listed) == 2
            assert all("token" not in row and row["prefix"].startswith("rd_") for row in listed)

            for token in (company["token"], personal["token"]):
                response = httpx.get(
                    f"{base}/api/v2/workspace.json", headers={"Authorization": f"Token {token}"}
                )
                assert response.status_code == 200
                assert response.json()["uuid"] == uuid

            # revoked by another process (the CLI): the very next request fails
            cli(env, "token", "revoke", company["prefix"])
            response = httpx.get(
                f"{base}/api/v2/workspace.json",
                headers={"Authorization": f"Token {company['token']}"},
            )
            assert response.status_code == 403
            assert response.json() == {"detail": "Invalid token."}

            # the user is deleted by another process: their token stops at once
            cli(env, "user", "delete", "dev@acme.example")
            response = httpx.get(
                f"{base}/api/v2/workspace.json",
                headers={"Authorization": f"Bearer {personal['token']}"},
            )
            assert response.status_code == 403

            # a typo never reaches the database and is rejected the same way
            response = httpx.get(
                f"{base}/api/v2/workspace.json", headers={"Authorization": f"Token {demo[:-1]}x"}
            )
            assert response.status_code == 403

        log_text = log.read_text()
        assert '"logger":"relaydesk.access"' in log_text  # access lines at info
        for line in log_text.splitlines():
            json.loads(line)  # structured JSON, one object per line
        stored = database_text(backend, env, tmp_path)
        assert stored
        for secret in secrets_seen:
            assert secret not in log_text
            assert secret.encode() not in stored
            assert secret[12:].encode() not in stored  # not even the hidden part
