"""RPC test helpers: call a method with a credential in any of its forms."""

from __future__ import annotations

import base64
from typing import Any

import httpx


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def basic(username: str, password: str = "") -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def rpc(
    client: httpx.AsyncClient,
    method: str,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **args: Any,
) -> httpx.Response:
    """POST ``args`` as JSON to ``/api/rpc/<method>`` with ``Bearer key`` (or ``headers``)."""
    sent = dict(headers or (bearer(key) if key else {}))
    return await client.post(f"/api/rpc/{method}", json=args, headers=sent)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is True
    return body


def failed(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is False
    assert body["error"] == error
    return body
