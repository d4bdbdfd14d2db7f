"""REST v2 ``globals.json`` against RapidPro's ``GlobalsEndpointTest`` (shapes, messages, codes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.globals import service
from relaydesk.domains.globals.schemas import GlobalRead
from relaydesk.kit.time import format_datetime
from relaydesk.models import Global, Role
from tests.conftest import World, auth
from tests.v2.accounts import add_member

URL = "/api/v2/globals.json"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}


async def create(client: httpx.AsyncClient, token: str, name: Any, value: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"name": name, "value": value}, headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def keys(client: httpx.AsyncClient, token: str, query: str = "") -> list[str]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["key"] for r in response.json()["results"]]


async def test_create_shape_and_order(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    org_name = await create(client, world.a.company, "Org Name", "Acme Ltd")
    row = (await session.execute(select(Global))).scalar_one()
    assert org_name == {
        "key": "org_name",
        "name": "Org Name",
        "value": "Acme Ltd",
        "modified_on": format_datetime(row.modified_on),
    }
    assert org_name["modified_on"].endswith("Z")
    GlobalRead.model_validate(org_name)
    token = await create(client, world.a.company, "Access Token", 23464373)
    assert token["value"] == "23464373"
    await create(client, world.b.company, "Thingy", "xyz")

    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": [token, org_name]}
    assert await keys(client, world.b.company) == ["thingy"]


async def test_update_value(client: httpx.AsyncClient, world: World) -> None:
    org_name = await create(client, world.a.company, "Org Name", "Acme Ltd")
    await create(client, world.a.company, "Access Token", "23464373")

    response = await client.post(
        URL + "?key=org_name", json={"value": "  Acme LLC "}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["value"] == "Acme LLC"
    assert updated["name"] == "Org Name"
    assert updated["modified_on"] > org_name["modified_on"]
    # most recently modified first
    assert await keys(client, world.a.company) == ["org_name", "access_token"]
    # a name is checked but, as in RapidPro, only the value changes
    response = await client.post(
        URL + "?key=org_name",
        json={"name": "Other Name", "value": "Acme SA"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Org Name"
    response = await client.post(
        URL + "?key=org_name",
        json={"name": "access token", "value": "Acme SA"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}
    response = await client.post(URL + "?key=org_name", json={}, headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"value": ["This field is required."]}


async def test_filters(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    await create(client, world.a.company, "Org Name", "Acme Ltd")
    await create(client, world.a.company, "Access Token", "23464373")
    await create(client, world.b.company, "Thingy", "xyz")
    rows = {g.key: g for g in (await session.execute(select(Global))).scalars()}
    org_on = format_datetime(rows["org_name"].modified_on)

    assert await keys(client, world.a.company, "?key=org_name") == ["org_name"]
    assert await keys(client, world.a.company, "?key=thingy") == []
    assert await keys(client, world.a.company, f"?before={org_on}") == ["org_name"]
    assert await keys(client, world.a.company, f"?after={org_on}") == ["access_token", "org_name"]
    token_on = rows["access_token"].modified_on
    later = format_datetime(token_on + timedelta(microseconds=1))
    assert await keys(client, world.a.company, f"?after={later}") == []
    assert await keys(client, world.a.company, f"?before={org_on}&after={org_on}") == ["org_name"]

    response = await client.get(URL + "?before=yesterday", headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"before": ["Value 'yesterday' is not a valid ISO8601 date/time."]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"value": ["This field is required."]}),
        ({"value": "yes"}, {"non_field_errors": ["Name is required when creating new global."]}),
        (
            {"name": "!!!#$%^"},
            {"value": ["This field is required."], "name": ["Name contains illegal characters."]},
        ),
        ({"name": "Año", "value": "x"}, {"name": ["Name contains illegal characters."]}),
        (
            {"name": "2cool key", "value": "23464373"},
            {"name": ["Name creates Key that is invalid"]},
        ),
        ({"name": "-", "value": "x"}, {"name": ["Name creates Key that is invalid"]}),
        (
            {"name": "x" * 37},
            {
                "value": ["This field is required."],
                "name": ["Ensure this field has no more than 36 characters."],
            },
        ),
        (
            {"name": "Big", "value": "x" * 10_001},
            {"value": ["Ensure this field has no more than 10000 characters."]},
        ),
        ({"name": "Empty", "value": ""}, {"value": ["This field may not be blank."]}),
        ({"name": "Empty", "value": " \n"}, {"value": ["This field may not be blank."]}),
        (
            {"name": None, "value": None},
            {"value": ["This field may not be null."], "name": ["This field may not be null."]},
        ),
        ({"name": "Obj", "value": {"a": 1}}, {"value": ["Not a valid string."]}),
        ({"name": "Obj", "value": False}, {"value": ["Not a valid string."]}),
        # the door refuses NUL in body strings (PostgreSQL can't store it)
        (
            {"name": "Nul", "value": "a\x00"},
            {"value": ["Null characters are not allowed."]},
        ),
        ({"name": "org name", "value": "x"}, {"name": ["This field must be unique."]}),
        ({"name": "Org-Name", "value": "x"}, {"name": ["This field must be unique."]}),
    ],
)
async def test_create_errors(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    await create(client, world.a.editor.personal, "Org Name", "Acme Ltd")
    response = await client.post(URL, json=body, headers=auth(world.a.admin.personal))
    assert response.status_code == 400
    assert response.json() == errors


async def test_create_at_the_limits(client: httpx.AsyncClient, world: World) -> None:
    created = await create(client, world.a.company, "X" * 36, "v" * 10_000)
    assert created["key"] == "x" * 36
    assert len(created["value"]) == 10_000
    assert (await create(client, world.a.company, "Has-Dash 2", 1.5))["key"] == "has_dash_2"
    # another workspace's global with the same name is fine
    await create(client, world.b.company, "Org Name", "B")
    assert (await create(client, world.a.company, "Org Name", "A"))["key"] == "org_name"


async def test_not_found(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.b.company, "Thingy", "xyz")
    for query in ("?key=thingy", "?key=nope", "?key="):
        response = await client.post(
            URL + query, json={"value": "x"}, headers=auth(world.a.company)
        )
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Not found."}
    response = await client.post(URL + "?key=nope", content=b"{", headers=auth(world.a.company))
    assert response.status_code == 404
    body = (await client.get(URL, headers=auth(world.b.company))).json()
    assert body["results"][0]["value"] == "xyz"


async def test_personal_tokens_see_and_change_only_their_own(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.a.editor.personal, "Editors", "e")
    await create(client, world.a.admin.personal, "Admins", "a")
    assert await keys(client, world.a.editor.personal) == ["editors"]
    assert await keys(client, world.a.admin.personal) == ["admins"]
    assert await keys(client, world.a.viewer.personal) == []
    assert await keys(client, world.a.company) == ["admins", "editors"]
    assert await keys(client, world.a.editor.personal, "?key=admins") == []

    response = await client.post(
        URL + "?key=admins", json={"value": "mine"}, headers=auth(world.a.editor.personal)
    )
    assert response.status_code == 404
    response = await client.post(
        URL + "?key=editors", json={"value": "co"}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    # names and keys are the workspace's, whoever owns them
    response = await client.post(
        URL, json={"name": "ADMINS", "value": "x"}, headers=auth(world.a.editor.personal)
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}
    owners = {g.key: g.owner_id for g in (await session.execute(select(Global))).scalars()}
    assert owners["editors"] is not None
    assert owners["admins"] is not None
    assert owners["editors"] != owners["admins"]


async def test_permissions(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    await create(client, world.a.company, "Org Name", "Acme")
    response = await client.post(
        URL, json={"name": "New", "value": "x"}, headers=auth(world.a.viewer.personal)
    )
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    response = await client.post(
        URL + "?key=org_name", json={"value": "x"}, headers=auth(world.a.viewer.personal)
    )
    assert response.status_code == 403

    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    for method, query in (("GET", ""), ("POST", ""), ("POST", "?key=org_name")):
        response = await client.request(
            method, URL + query, json={"name": "N", "value": "x"}, headers=auth(agent.token)
        )
        assert response.status_code == 403, (method, query)
        assert response.json() == FORBIDDEN
    assert (await client.get(URL)).status_code == 403


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
async def test_other_methods_405(client: httpx.AsyncClient, world: World, method: str) -> None:
    response = await client.request(method, URL + "?key=org_name", headers=auth(world.a.company))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_limit(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LIMIT", 3)
    await create(client, world.a.editor.personal, "One", "1")
    await create(client, world.a.admin.personal, "Two", "2")
    await create(client, world.a.company, "New Global", "23464373")
    for token in (world.a.company, world.a.editor.personal):
        response = await client.post(
            URL, json={"name": "Website URL", "value": "http://example.com"}, headers=auth(token)
        )
        assert response.status_code == 409
        assert response.json() == {
            "detail": "Cannot create object because workspace has reached limit of 3."
        }
    response = await client.post(URL, json={}, headers=auth(world.a.company))
    assert response.status_code == 409
    response = await client.post(
        URL + "?key=new_global", json={"value": "x"}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    await create(client, world.b.company, "One", "1")


async def test_pagination(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    session.add_all(
        Global(
            workspace_id=world.a.id,
            key=f"g{i:03}",
            name=f"G{i:03}",
            value=str(i),
            modified_on=start + timedelta(minutes=i % 7, microseconds=i),
        )
        for i in range(256)
    )
    await session.commit()
    headers = auth(world.a.company)
    first = (await client.get(URL, headers=headers)).json()
    assert len(first["results"]) == 250
    second = (await client.get(first["next"], headers=headers)).json()
    listed = first["results"] + second["results"]
    assert [r["modified_on"] for r in listed] == sorted(
        (r["modified_on"] for r in listed), reverse=True
    )
    assert sorted(r["key"] for r in listed) == [f"g{i:03}" for i in range(256)]
    assert second["next"] is None
    back = (await client.get(second["previous"], headers=headers)).json()
    assert back["results"] == first["results"]
    # filters are kept in the links
    after = format_datetime(start + timedelta(minutes=3))
    page = (await client.get(URL + f"?after={after}", headers=headers)).json()
    assert all(r["modified_on"] >= after for r in page["results"])


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/globals")
    assert response.status_code == 200
    for name in GlobalRead.model_fields:
        assert f"<code>{name}</code>" in response.text


async def test_nul_is_a_400_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.company, "Org Name", "Acme")
    response = await client.get(URL, params={"key": "org_name\x00"}, headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"key": ["Null characters are not allowed."]}
    response = await client.post(
        URL, params={"key": "org_name\x00"}, json={"value": "x"}, headers=auth(world.a.company)
    )
    assert response.status_code == 400
