"""schemathesis against the live OpenAPI document: no generated request gets a 5xx.

Bounded here (``RELAYDESK_FUZZ_EXAMPLES`` per operation, default 25); for a deeper search:
``RELAYDESK_FUZZ_EXAMPLES=500 ./dev test tests/test_schemathesis.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.test_e2e_serve import fresh_database, provision, server

EXAMPLES = int(os.environ.get("RELAYDESK_FUZZ_EXAMPLES", "25"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_no_server_errors(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as base_env:
        env = {**base_env, "RELAYDESK_RATE_LIMITS": "off", "RELAYDESK_LOG_LEVEL": "warning"}
        _ws, key = provision(
            env,
            "Fuzz",
            "--country",
            "RW",
            "--language",
            "eng",
            email="fuzz@x.example",
            token_options=("--api-version", "v3"),
        )
        headers = {"Authorization": f"Bearer {key}"}
        with server(env, tmp_path) as (base, _, log):
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
            failures: list[str] = []
            operations = 0
            calls = [0]
            for result in schema.get_all_operations():
                operation = result.ok()
                operations += 1

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
                @given(case=operation.as_strategy())
                def check(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base, headers=headers)
                    calls[0] += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} {case.query} {case.body!r} "
                            f"-> {response.status_code} {response.text[:200]}"
                        )

                check()
            assert operations >= 4
            assert calls[0] >= operations * min(EXAMPLES, 5)
            assert not failures, "\n".join(failures[:20]) + "\n" + log.read_text()[-3000:]
