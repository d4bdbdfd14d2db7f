from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from relaydesk.infra.logging import AccessLogMiddleware, JSONFormatter


def _app() -> AccessLogMiddleware:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    return AccessLogMiddleware(Starlette(routes=[Route("/hello", hello)]))


@pytest.mark.parametrize(("level", "expected"), [(logging.INFO, 1), (logging.WARNING, 0)])
async def test_access_lines_at_info_not_at_warning(
    caplog: pytest.LogCaptureFixture, level: int, expected: int
) -> None:
    caplog.set_level(level, logger="relaydesk.access")
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/hello", headers={"Authorization": "Token secret-value"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "relaydesk.access"]
    assert len(records) == expected
    if records:
        line = json.loads(JSONFormatter().format(records[0]))
        assert line["method"] == "GET"
        assert line["path"] == "/hello"
        assert line["status"] == 200
        assert line["level"] == "info"
        assert "secret-value" not in json.dumps(line)
