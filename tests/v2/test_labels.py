"""REST v2 ``labels.json`` against RapidPro's ``LabelsEndpointTest`` (shapes, messages, codes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.labels import service
from relaydesk.domains.labels.schemas import LabelRead
from relaydesk.kit.ids import new_uuid
from relaydesk.models import Label, Role
from tests.conftest import World, auth
from tests.v2.accounts import add_member

URL = "/api/v2/labels.json"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}


async def create(client: httpx.AsyncClient, token: str, name: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"name": name}, headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def names(client: httpx.AsyncClient, token: str, query: str = "") -> list[str]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["results"]]


async def test_list_shape_order_and_isolation(client: httpx.AsyncClient, world: World) -> None:
    important = await create(client, world.a.company, "Important")
    feedback = await create(client, world.a.company, "Feedback")
    await create(client, world.b.company, "Spam")

    response = await client.get(URL, headers=auth(world.a.company))
    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {"uuid": feedback["uuid"], "name": "Feedback", "count": 0},
            {"uuid": important["uuid"], "name": "Important", "count": 0},
        ],
    }
    LabelRead.model_validate(important)
    assert await names(client, world.b.company) == ["Spam"]


async def test_filters(client: httpx.AsyncClient, world: World) -> None:
    important = await create(client, world.a.company, "Important")
    await create(client, world.a.company, "Feedback")
    spam = await create(client, world.b.company, "Spam")

    assert await names(client, world.a.company, f"?uuid={important['uuid']}") == ["Important"]
    assert await names(client, world.a.company, f"?uuid={important['uuid'].upper()}") == [
        "Important"
    ]
    assert await names(client, world.a.company, "?name=important") == ["Important"]
    assert await names(client, world.a.company, "?name=IMPORTANT") == ["Important"]
    assert await names(client, world.a.company, f"?uuid={spam['uuid']}") == []
    assert await names(client, world.a.company, "?name=spam") == []

    response = await client.get(
        URL + f"?uuid={important['uuid']}&name=important", headers=auth(world.a.company)
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "You may only specify one of the uuid, name parameters"}

    response = await client.get(URL + "?uuid=xyz", headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"detail": "Param 'uuid': xyz is not a valid UUID."}


async def test_create_update_delete(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    response = await client.post(
        URL, json={"name": "  Interesting "}, headers=auth(world.a.editor.personal)
    )
    assert response.status_code == 201
    interesting = (await session.execute(select(Label))).scalar_one()
    assert response.json() == {"uuid": interesting.uuid, "name": "Interesting", "count": 0}

    response = await client.post(
        URL + f"?uuid={interesting.uuid}",
        json={"name": "More Interesting"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 200
    assert response.json() == {"uuid": interesting.uuid, "name": "More Interesting", "count": 0}
    # its own name in another case is not a duplicate
    response = await client.post(
        URL + f"?uuid={interesting.uuid}",
        json={"name": "MORE interesting"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 200

    response = await client.delete(URL + f"?uuid={interesting.uuid}", headers=auth(world.a.company))
    assert response.status_code == 204
    assert response.content == b""
    session.expire_all()
    row = (await session.execute(select(Label))).scalar_one()
    assert row.is_active is False
    assert await names(client, world.a.company) == []
    # gone: its name is free again, and it can't be updated or deleted twice
    await create(client, world.a.company, "More Interesting")
    for method in ("POST", "DELETE"):
        response = await client.request(
            method,
            URL + f"?uuid={interesting.uuid}",
            json={"name": "x"},
            headers=auth(world.a.company),
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


async def test_owner_is_the_token_user(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.a.editor.personal, "Mine")
    await create(client, world.a.company, "Company")
    rows = (await session.execute(select(Label).order_by(Label.id))).scalars().all()
    owners = [row.owner_id for row in rows]
    assert owners[0] is not None
    assert owners[1] is not None  # a company token acts for its creating administrator
    assert owners[0] != owners[1]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "  "}, {"name": ["This field may not be blank."]}),
        ({"name": ["x"]}, {"name": ["Not a valid string."]}),
        ({"name": {"x": 1}}, {"name": ["Not a valid string."]}),
        ({"name": '""'}, {"name": ['Cannot contain the character: "']}),
        ({"name": "a\\b"}, {"name": ["Cannot contain the character: \\"]}),
        # the door refuses NUL in body strings (RapidPro adds NameValidator's own message)
        ({"name": "a\x00b"}, {"name": ["Null characters are not allowed."]}),
        (
            {"name": "x" * 65},
            {
                "name": [
                    "Cannot be longer than 64 characters.",
                    "Ensure this field has no more than 64 characters.",
                ]
            },
        ),
        ({"name": "interesting"}, {"name": ["This field must be unique."]}),
        ({"name": "INTERESTING"}, {"name": ["This field must be unique."]}),
    ],
)
async def test_create_errors(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    await create(client, world.a.editor.personal, "Interesting")
    response = await client.post(URL, json=body, headers=auth(world.a.admin.personal))
    assert response.status_code == 400
    assert response.json() == errors


async def test_create_numbers_and_limits(client: httpx.AsyncClient, world: World) -> None:
    assert (await create(client, world.a.company, 2026))["name"] == "2026"
    assert (await create(client, world.a.company, "x" * 64))["name"] == "x" * 64
    # another workspace's label with the same name is fine
    await create(client, world.b.company, "Spam")
    assert (await create(client, world.a.company, "Spam"))["name"] == "Spam"


async def test_names_are_unique_across_owners(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.editor.personal, "Private")
    response = await client.post(
        URL, json={"name": "private"}, headers=auth(world.a.admin.personal)
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}


async def test_not_found(client: httpx.AsyncClient, world: World) -> None:
    spam = await create(client, world.b.company, "Spam")
    for query in (f"?uuid={spam['uuid']}", "?uuid=123", "?uuid=", f"?uuid={new_uuid()}"):
        response = await client.post(
            URL + query, json={"name": "Won't work"}, headers=auth(world.a.company)
        )
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Not found."}
        response = await client.delete(URL + query, headers=auth(world.a.company))
        assert response.status_code == 404, query
    response = await client.post(URL + "?uuid=123", content=b"{bad", headers=auth(world.a.company))
    assert response.status_code == 404
    assert await names(client, world.b.company) == ["Spam"]


async def test_delete_needs_uuid(client: httpx.AsyncClient, world: World) -> None:
    response = await client.delete(URL, headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"detail": "URL must contain one of the following parameters: uuid"}


async def test_personal_tokens_see_and_change_only_their_own(
    client: httpx.AsyncClient, world: World
) -> None:
    editors = await create(client, world.a.editor.personal, "Editor's")
    admins = await create(client, world.a.admin.personal, "Admin's")

    assert await names(client, world.a.editor.personal) == ["Editor's"]
    assert await names(client, world.a.admin.personal) == ["Admin's"]
    assert await names(client, world.a.viewer.personal) == []
    assert await names(client, world.a.company) == ["Admin's", "Editor's"]
    assert await names(client, world.a.editor.personal, f"?uuid={admins['uuid']}") == []

    headers = auth(world.a.editor.personal)
    response = await client.post(
        URL + f"?uuid={admins['uuid']}", json={"name": "Mine"}, headers=headers
    )
    assert response.status_code == 404
    response = await client.delete(URL + f"?uuid={admins['uuid']}", headers=headers)
    assert response.status_code == 404
    # the company token can change anyone's
    response = await client.post(
        URL + f"?uuid={editors['uuid']}", json={"name": "Renamed"}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    assert await names(client, world.a.editor.personal) == ["Renamed"]


async def test_permissions(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    label = await create(client, world.a.company, "Important")
    viewer = auth(world.a.viewer.personal)
    assert await names(client, world.a.viewer.personal, "") == []  # viewers read (their own)
    response = await client.post(URL, json={"name": "New"}, headers=viewer)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    response = await client.delete(URL + f"?uuid={label['uuid']}", headers=viewer)
    assert response.status_code == 403

    # agents can't use labels at all (RapidPro)
    agent = auth(
        (await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)).token
    )
    for method, query in (
        ("GET", ""),
        ("POST", ""),
        ("POST", f"?uuid={label['uuid']}"),
        ("DELETE", f"?uuid={label['uuid']}"),
    ):
        response = await client.request(method, URL + query, json={"name": "x"}, headers=agent)
        assert response.status_code == 403, (method, query)
        assert response.json() == FORBIDDEN

    assert (await client.get(URL)).status_code == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_other_methods_405(client: httpx.AsyncClient, world: World, method: str) -> None:
    response = await client.request(method, URL, headers=auth(world.a.company))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_limit(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LIMIT", 3)
    await create(client, world.a.editor.personal, "One")
    await create(client, world.a.admin.personal, "Two")
    three = await create(client, world.a.company, "Three")
    # the limit counts the workspace's labels, whoever owns them
    for token in (world.a.company, world.a.editor.personal):
        response = await client.post(URL, json={"name": "Interesting"}, headers=auth(token))
        assert response.status_code == 409
        assert response.json() == {
            "detail": "Cannot create object because workspace has reached limit of 3."
        }
    response = await client.post(URL, json={}, headers=auth(world.a.company))
    assert response.status_code == 409
    response = await client.post(
        URL + f"?uuid={three['uuid']}", json={"name": "Drei"}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    await create(client, world.b.company, "One")
    # deleting frees a place
    await client.delete(URL + f"?uuid={three['uuid']}", headers=auth(world.a.company))
    await create(client, world.a.company, "Interesting")


async def test_pagination(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    session.add_all(Label(workspace_id=world.a.id, name=f"L{i:03}") for i in range(260))
    session.add(Label(workspace_id=world.b.id, name="Theirs"))
    await session.commit()
    headers = auth(world.a.company)
    first = (await client.get(URL, headers=headers)).json()
    assert len(first["results"]) == 250
    assert first["previous"] is None
    second = (await client.get(first["next"], headers=headers)).json()
    assert [r["name"] for r in first["results"] + second["results"]] == [
        f"L{i:03}" for i in reversed(range(260))
    ]
    assert second["next"] is None
    back = (await client.get(second["previous"], headers=headers)).json()
    assert back["results"] == first["results"]
    # filters stay in the links
    only = (await client.get(URL + "?name=l001", headers=headers)).json()
    assert [r["name"] for r in only["results"]] == ["L001"]


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/labels")
    assert response.status_code == 200
    for name in LabelRead.model_fields:
        assert f"<code>{name}</code>" in response.text
    assert "always 0" in response.text


async def test_nul_is_a_400_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.company, "Important")
    for params in ({"name": "Important\x00"}, {"uuid": "\x00"}):
        response = await client.get(URL, params=params, headers=auth(world.a.company))
        assert response.status_code == 400
        assert response.json() == {next(iter(params)): ["Null characters are not allowed."]}
