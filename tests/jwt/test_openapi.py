"""The OpenAPI document lets a Swagger UI user exchange a key, press Authorize (Bearer) and
call v3 endpoints with the JWT."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World


async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_jwts_operation_is_tagged_and_public(client: httpx.AsyncClient, world: World) -> None:
    doc = await spec(client)
    create = doc["paths"]["/api/v3/jwts"]["post"]
    assert create["tags"] == ["jwts"]
    assert "security" not in create  # Try it out works before Authorize
    body = create["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[1]
    assert doc["components"]["schemas"][ref]["required"] == ["api_key"]
    out = create["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = doc["components"]["schemas"][out.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"token", "token_type", "expires_in"}
    assert {"401", "400"} <= set(create["responses"])
    assert doc["paths"]["/.well-known/jwks.json"]["get"]["tags"] == ["jwts"]


async def test_v3_operations_declare_the_bearer_scheme(
    client: httpx.AsyncClient, world: World
) -> None:
    doc = await spec(client)
    assert doc["components"]["securitySchemes"]["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <key>` (an API key or JWT).",
    }
    for path in ("/api/v3/me", "/api/v3/tokens"):
        assert {"Bearer": []} in doc["paths"][path]["get"]["security"], path


async def test_swagger_flow(client: httpx.AsyncClient, world: World) -> None:
    """What Swagger UI sends: the Try-it-out body, then the Authorize header."""
    response = await client.post(
        "/api/v3/jwts",
        json={"api_key": world.a.company_v3},
        headers={"accept": "application/json", "content-type": "application/json"},
    )
    token = response.json()["token"]
    me = await client.get(
        "/api/v3/me", headers={"accept": "application/json", "Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 200
    assert me.json()["credential"] == "jwt"
