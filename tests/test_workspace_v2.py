from __future__ import annotations

import httpx
import pytest

from relaydesk.domains.workspace.schemas import WorkspaceOut
from tests.conftest import World, auth


@pytest.mark.parametrize("path", ["/api/v2/workspace.json", "/api/v2/org.json"])
async def test_workspace_shape(client: httpx.AsyncClient, world: World, path: str) -> None:
    response = await client.get(path, headers=auth(world.a.viewer.personal))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {
        "uuid": world.a.uuid,
        "name": "Alpha Org",
        "country": "RW",
        "languages": ["eng", "fra"],
        "primary_language": "eng",
        "timezone": "UTC",
        "date_style": "day_first",
        "credits": {"used": -1, "remaining": -1},
        "anon": False,
    }
    WorkspaceOut.model_validate(body)


async def test_each_token_sees_its_own_workspace(client: httpx.AsyncClient, world: World) -> None:
    for tenant in (world.a, world.b):
        for token in (tenant.company, tenant.admin.personal, tenant.viewer.personal):
            body = (await client.get("/api/v2/workspace.json", headers=auth(token))).json()
            assert body["uuid"] == tenant.uuid
            assert body["name"] == tenant.name


async def test_methods_other_than_get_are_405(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v2/workspace.json", headers=auth(world.a.company))
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}


async def test_unknown_endpoint_is_404_json(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v2/nope.json", headers=auth(world.a.company))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("path", ["/api/v2/workspace", "/api/v2/org"])
async def test_docs_page(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://testserver/api/v2/workspace.json" in html
    for field in WorkspaceOut.model_fields:
        assert f"<code>{field}</code>" in html
    assert "Authorization: Token" in html


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_openapi_declares_security_on_authenticated_operations(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["Token"]["description"],
    }
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert schemes["Basic"]["scheme"] == "basic"
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    assert operations
    for path, method, op in operations:
        if path in ("/healthz", "/api/v3/jwts", "/.well-known/jwks.json"):
            # public on purpose: Swagger's "Try it out" exchanges a key before "Authorize"
            assert "security" not in op
            continue
        if path.startswith("/widget/"):
            # the public chat widget: no API key; a chat's own calls carry its visitor token
            assert "security" not in op
            params = {p["name"] for p in op.get("parameters", [])}
            if path != "/widget/{property_uuid}/chats":
                assert "x-visitor-token" in params, (path, method)
            continue
        names = {name for requirement in op["security"] for name in requirement}
        assert {"Token", "Bearer", "Basic"} <= names, (path, method)


async def test_null_characters_in_query_are_400(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v2/workspace.json?name=a%00b", headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"name": ["Null characters are not allowed."]}


async def test_v2_index_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for slug in ("contacts", "contact_actions", "groups", "fields", "labels", "globals", "users"):
        assert f'href="/api/v2/{slug}"' in response.text
        assert (await client.get(f"/api/v2/{slug}")).status_code == 200
    assert "http://testserver" in response.text
