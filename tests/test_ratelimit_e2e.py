"""Two ``relaydesk serve`` processes sharing Redis count as one: exactly the plan limit
succeeds in total. Also: the official RapidPro client sees a 429 it can honour."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from temba_client.exceptions import TembaRateExceededError
from temba_client.v2 import TembaClient

from tests.services import need
from tests.test_e2e_serve import fresh_database, provision, server


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_share_exact_counts_through_redis(backend: str, tmp_path: Path) -> None:
    need("Redis", "127.0.0.1", 6379)
    prefix = f"relaydesk-test-{uuid.uuid4().hex}"
    with fresh_database(backend, tmp_path) as base_env:
        env = {
            **base_env,
            "RELAYDESK_REDIS_URL": "redis://127.0.0.1:6379/0",
            "RELAYDESK_REDIS_PREFIX": prefix,
        }
        _ws, token = provision(env, "Shared", "--plan", "standard", email="ops@shared.example")
        headers = {"Authorization": f"Token {token}"}
        with ExitStack() as stack:
            one, _, _ = stack.enter_context(server(env, tmp_path / "one"))
            two, _, _ = stack.enter_context(server(env, tmp_path / "two"))
            statuses = []
            with httpx.Client(timeout=10) as client:
                for i in range(320):
                    base = one if i % 2 == 0 else two
                    statuses.append(
                        client.get(f"{base}/api/v2/workspace.json", headers=headers).status_code
                    )
            assert statuses.count(200) == 300
            assert statuses.count(429) == 20
            assert statuses[:300] == [200] * 300

            # RapidPro's client turns the 429 into TembaRateExceededError with the wait
            rapidpro = TembaClient(one, token)
            with pytest.raises(TembaRateExceededError) as excinfo:
                rapidpro.get_org()
            assert 1 <= excinfo.value.retry_after <= 60
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(r.scan_iter(match=f"{prefix}:*"))
    if keys:
        r.delete(*keys)
    r.close()
