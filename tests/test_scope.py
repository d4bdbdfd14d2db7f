"""Scope rules: personal = own resources, company = whole workspace, never another workspace."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _list(client: httpx.AsyncClient, token: str) -> list[dict]:
    response = await client.get("/api/v3/tokens", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def test_personal_token_sees_only_its_users_tokens(
    client: httpx.AsyncClient, world: World
) -> None:
    rows = await _list(client, world.a.editor.personal_v3)
    assert {r["user"]["email"] for r in rows} == {world.a.editor.email}
    assert len(rows) == 2  # the editor's v2 and v3 personal tokens
    assert all("token" not in r for r in rows)


async def test_company_token_sees_the_whole_workspace_only(
    client: httpx.AsyncClient, world: World
) -> None:
    rows = await _list(client, world.a.company_v3)
    emails = {r["user"]["email"] for r in rows}
    assert emails == {world.a.admin.email, world.a.editor.email, world.a.viewer.email}
    assert len(rows) == 8  # 3 users x 2 personal + 2 company
    b_rows = await _list(client, world.b.company_v3)
    assert not {r["id"] for r in rows} & {r["id"] for r in b_rows}


async def test_no_token_reaches_another_workspace(client: httpx.AsyncClient, world: World) -> None:
    # A's company key cannot delete B's token (404: B's objects do not exist for A)
    response = await client.delete(
        f"/api/v3/tokens/{world.b.company_id}", headers=bearer(world.a.company_v3)
    )
    assert response.status_code == 404
    assert (
        await client.get(
            "/api/v2/workspace.json", headers={"Authorization": f"Token {world.b.company}"}
        )
    ).status_code == 200


async def test_personal_token_cannot_delete_other_users_tokens(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.delete(
        f"/api/v3/tokens/{world.a.viewer.personal_id}", headers=bearer(world.a.editor.personal_v3)
    )
    assert response.status_code == 404
    response = await client.delete(
        f"/api/v3/tokens/{world.a.editor.personal_id}", headers=bearer(world.a.editor.personal_v3)
    )
    assert response.status_code == 204


async def test_only_administrators_create_company_tokens(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        "/api/v3/tokens", json={"kind": "company"}, headers=bearer(world.a.editor.personal_v3)
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    response = await client.post(
        "/api/v3/tokens",
        json={"kind": "company", "name": "ci", "expires_in_days": 30},
        headers=bearer(world.a.admin.personal_v3),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("rd_")
    assert body["kind"] == "company"
    assert body["token"].startswith(body["prefix"])
    assert body["expires_on"] is not None
    # the new token works and acts for workspace A
    me = await client.get(
        "/api/v2/workspace.json", headers={"Authorization": f"Token {body['token']}"}
    )
    assert me.json()["uuid"] == world.a.uuid
    # and is listed without its plaintext
    rows = await _list(client, world.a.company_v3)
    assert body["id"] in {r["id"] for r in rows}
    assert all("token" not in r for r in rows)


async def test_token_create_validation(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/api/v3/tokens",
        json={"kind": "root", "name": "x" * 65},
        headers=bearer(world.a.admin.personal_v3),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_args"
    assert set(body["errors"]) == {"kind", "name"}
    response = await client.post(
        "/api/v3/tokens",
        content=b"{not json",
        headers={**bearer(world.a.admin.personal_v3), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    # empty body: defaults (a personal v2 token)
    response = await client.post("/api/v3/tokens", headers=bearer(world.a.admin.personal_v3))
    assert response.status_code == 201
    assert response.json()["kind"] == "personal"


async def test_null_characters_are_rejected_not_500(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = bearer(world.a.admin.personal_v3)
    response = await client.post("/api/v3/tokens", json={"name": "a\x00b"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["Value error, Null characters are not allowed."]
    response = await client.delete("/api/v3/tokens/%00", headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("ref", ["%C2%B9", "99999999999999999999", "0", "rd_nothing"])
async def test_odd_token_refs_are_404(client: httpx.AsyncClient, world: World, ref: str) -> None:
    response = await client.delete(f"/api/v3/tokens/{ref}", headers=bearer(world.a.company_v3))
    assert response.status_code == 404
