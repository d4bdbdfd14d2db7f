"""Where the test services are, and whether a missing one skips or fails (REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_HOST = os.environ.get("RELAYDESK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("RELAYDESK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("RELAYDESK_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("RELAYDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def need(name: str, host: str, port: int) -> None:
    """Skip (or fail, with REQUIRE_SERVICES=1) when the service is not listening."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(f"{reason} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{reason} (start it, or set REQUIRE_SERVICES=1 to make this a failure)")


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def _admin_sql(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # in a thread of its own: callers may run inside an event loop (Playwright's sync API)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; dropped afterwards."""
    need("PostgreSQL", PG_HOST, PG_PORT)
    name = f"relaydesk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
