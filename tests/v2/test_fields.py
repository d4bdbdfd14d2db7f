"""REST v2 ``fields.json`` against RapidPro's ``FieldsEndpointTest`` (shapes, messages, codes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.fields import service
from relaydesk.domains.fields.schemas import FieldRead
from relaydesk.models import ContactField, Role
from tests.conftest import World, auth
from tests.v2.accounts import add_member

URL = "/api/v2/fields.json"


def wire(key: str, name: str, kind: str = "text", legacy: str | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "type": kind,
        "featured": False,
        "priority": 0,
        "usages": {"flows": 0, "groups": 0, "campaign_events": 0},
        "agent_access": "view",
        "label": name,
        "value_type": legacy or kind,
    }


async def create(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(URL, json=body, headers=auth(token))


async def test_list_shape_order_and_isolation(client: httpx.AsyncClient, world: World) -> None:
    assert await create(client, world.a.editor.personal, {"name": "Nick Name", "type": "text"})
    assert await create(client, world.a.admin.personal, {"name": "Age", "type": "number"})
    await create(client, world.b.company, {"name": "Not Ours", "type": "datetime"})

    response = await client.get(URL, headers=auth(world.a.viewer.personal))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "next": None,
        "previous": None,
        "results": [wire("age", "Age", "number", "numeric"), wire("nick_name", "Nick Name")],
    }
    for result in body["results"]:
        FieldRead.model_validate(result)

    # fields are workspace-wide: every token of A sees both, B sees only its own
    for token in (world.a.company, world.a.editor.personal, world.a.admin.personal):
        keys = [r["key"] for r in (await client.get(URL, headers=auth(token))).json()["results"]]
        assert keys == ["age", "nick_name"]
    body = (await client.get(URL, headers=auth(world.b.viewer.personal))).json()
    assert body["results"] == [wire("not_ours", "Not Ours", "datetime")]


async def test_filter_by_key(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.company, {"name": "Nick Name", "type": "text"})
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    await create(client, world.b.company, {"name": "Secret", "type": "text"})

    body = (await client.get(URL + "?key=nick_name", headers=auth(world.a.company))).json()
    assert body["results"] == [wire("nick_name", "Nick Name")]
    body = (await client.get(URL + "?key=secret", headers=auth(world.a.company))).json()
    assert body["results"] == []
    body = (await client.get(URL + "?key=", headers=auth(world.a.company))).json()
    assert [r["key"] for r in body["results"]] == ["age", "nick_name"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Nick Name", "type": "text"}, wire("nick_name", "Nick Name")),
        ({"name": "Age", "type": "number"}, wire("age", "Age", "number", "numeric")),
        ({"label": "Age", "value_type": "numeric"}, wire("age", "Age", "number", "numeric")),
        ({"name": "  Born-On 2 ", "type": "datetime"}, wire("born_on_2", "Born-On 2", "datetime")),
        ({"name": "Province", "type": "state"}, wire("province", "Province", "state")),
        ({"name": "Town", "value_type": "district"}, wire("town", "Town", "district")),
        ({"label": "Cell", "type": "ward"}, wire("cell", "Cell", "ward")),
        ({"name": "X" * 36, "type": "text"}, wire("x" * 36, "X" * 36)),
    ],
)
async def test_create(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = await create(client, world.a.editor.personal, body)
    assert response.status_code == 201, response.text
    assert response.json() == expected
    listed = (await client.get(URL, headers=auth(world.a.viewer.personal))).json()["results"]
    assert listed == [expected]


async def test_update_by_key(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    response = await client.post(
        URL + "?key=age",
        json={"name": "Real Age", "type": "datetime"},
        headers=auth(world.a.editor.personal),
    )
    assert response.status_code == 200
    assert response.json() == wire("age", "Real Age", "datetime")
    # the legacy names work for updates too; renaming to its own name in another case is fine
    response = await client.post(
        URL + "?key=age",
        json={"label": "REAL AGE", "value_type": "numeric"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 200
    assert response.json() == wire("age", "REAL AGE", "number", "numeric")
    rows = (await session.execute(select(ContactField))).scalars().all()
    assert [(f.key, f.name, f.value_type) for f in rows] == [("age", "REAL AGE", "number")]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"non_field_errors": ["Field 'name' is required."]}),
        ({"name": "goats"}, {"non_field_errors": ["Field 'type' is required."]}),
        ({"type": "text"}, {"non_field_errors": ["Field 'name' is required."]}),
        (
            {"name": "!@#$%", "type": "video"},
            {
                "name": ["Can only contain letters, numbers and hypens."],
                "type": ['"video" is not a valid choice.'],
            },
        ),
        (
            {"label": "!@#$%", "value_type": "video"},
            {
                "label": ["Can only contain letters, numbers and hypens."],
                "value_type": ['"video" is not a valid choice.'],
            },
        ),
        ({"name": "Age", "type": "numeric"}, {"type": ['"numeric" is not a valid choice.']}),
        (
            {"name": "Age", "value_type": "number"},
            {"value_type": ['"number" is not a valid choice.']},
        ),
        (
            {"name": "HAS", "type": "text"},
            {"name": ['Generated key "has" is invalid or a reserved name.']},
        ),
        (
            {"name": "UUID", "type": "text"},
            {"name": ['Generated key "uuid" is invalid or a reserved name.']},
        ),
        (
            {"name": "Created On", "type": "text"},
            {"name": ['Generated key "created_on" is invalid or a reserved name.']},
        ),
        (
            {"name": "Groups", "type": "text"},
            {"name": ['Generated key "groups" is invalid or a reserved name.']},
        ),
        (
            {"name": "2nd Name", "type": "text"},
            {"name": ['Generated key "2nd_name" is invalid or a reserved name.']},
        ),
        (
            {"name": 123, "type": "text"},
            {"name": ['Generated key "123" is invalid or a reserved name.']},
        ),
        (
            {"name": "-", "type": "text"},
            {"name": ['Generated key "" is invalid or a reserved name.']},
        ),
        (
            {"name": "Año", "type": "text"},
            {"name": ["Can only contain letters, numbers and hypens."]},
        ),
        (
            {"name": "X" * 37, "type": "text"},
            {"name": ["Ensure this field has no more than 36 characters."]},
        ),
        ({"name": "", "type": "text"}, {"name": ["This field may not be blank."]}),
        ({"name": "   ", "type": "text"}, {"name": ["This field may not be blank."]}),
        (
            {"name": None, "type": None},
            {"name": ["This field may not be null."], "type": ["This field may not be null."]},
        ),
        ({"name": ["Age"], "type": "text"}, {"name": ["Not a valid string."]}),
        ({"name": True, "type": "text"}, {"name": ["Not a valid string."]}),
        ({"name": "Age", "type": ""}, {"type": ['"" is not a valid choice.']}),
        ({"name": "Age", "type": 5}, {"type": ['"5" is not a valid choice.']}),
        # the door refuses NUL in body strings (PostgreSQL can't store it)
        (
            {"name": "A\x00b", "type": "text"},
            {"name": ["Null characters are not allowed."]},
        ),
        (
            {"name": "Nick Name", "label": "nick name", "type": "text"},
            {"name": ["This field must be unique."], "label": ["This field must be unique."]},
        ),
    ],
)
async def test_create_errors(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    if "Nick Name" in body.values():
        await create(client, world.a.company, {"name": "Nick Name", "type": "text"})
    response = await create(client, world.a.admin.personal, body)
    assert response.status_code == 400
    assert response.json() == errors


async def test_name_taken_ignoring_case_and_key_collisions(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (
        await create(client, world.a.company, {"name": "Nick Name", "type": "text"})
    ).status_code == 201
    response = await create(
        client, world.a.admin.personal, {"label": "nick name", "value_type": "text"}
    )
    assert response.status_code == 400
    assert response.json() == {"label": ["This field must be unique."]}
    # a different name making the same key
    response = await create(client, world.a.admin.personal, {"name": "Nick-Name", "type": "text"})
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}
    # renaming another field to a taken name
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    response = await client.post(
        URL + "?key=age", json={"name": "NICK NAME", "type": "text"}, headers=auth(world.a.company)
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This field must be unique."]}
    # names are per workspace
    assert (
        await create(client, world.b.company, {"name": "Nick Name", "type": "text"})
    ).status_code == 201


async def test_deleted_field_key_is_reused(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    await session.execute(update(ContactField).values(is_active=False, name="deleted"))
    await session.commit()
    assert (await client.get(URL, headers=auth(world.a.company))).json()["results"] == []
    response = await client.post(
        URL + "?key=age", json={"name": "Age", "type": "text"}, headers=auth(world.a.company)
    )
    assert response.status_code == 404

    response = await create(client, world.a.company, {"name": "AGE", "type": "text"})
    assert response.status_code == 201
    assert response.json() == wire("age", "AGE")
    session.expire_all()
    assert len((await session.execute(select(ContactField))).scalars().all()) == 1


async def test_update_not_found(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.b.company, {"name": "Theirs", "type": "text"})
    body = {"name": "Something", "type": "text"}
    for query in ("?key=theirs", "?key=nope", "?key="):
        response = await client.post(URL + query, json=body, headers=auth(world.a.company))
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Not found."}
    # the lookup comes before the body (RapidPro's order)
    response = await client.post(URL + "?key=nope", content=b"{bad", headers=auth(world.a.company))
    assert response.status_code == 404


async def test_update_validates_too(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    response = await client.post(
        URL + "?key=age", json={"name": "Age"}, headers=auth(world.a.company)
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Field 'type' is required."]}


async def test_permissions(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    body = {"name": "Age", "type": "number"}
    response = await create(client, world.a.viewer.personal, body)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}

    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    response = await create(client, agent.token, body)
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert (await create(client, world.a.editor.personal, body)).status_code == 201
    response = await client.post(URL + "?key=age", json=body, headers=auth(agent.token))
    assert response.status_code == 403
    # agents and viewers read
    for token in (agent.token, world.a.viewer.personal):
        response = await client.get(URL, headers=auth(token))
        assert [r["key"] for r in response.json()["results"]] == ["age"]

    response = await client.get(URL)
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
async def test_other_methods_405(client: httpx.AsyncClient, world: World, method: str) -> None:
    response = await client.request(method, URL + "?key=age", headers=auth(world.a.company))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_limit(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LIMIT", 2)
    await create(client, world.a.company, {"name": "One", "type": "text"})
    await create(client, world.a.company, {"name": "Two", "type": "text"})
    response = await create(client, world.a.company, {"label": "Age", "value_type": "numeric"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Cannot create object because workspace has reached limit of 2."
    }
    # checked before the body, as RapidPro
    response = await create(client, world.a.company, {})
    assert response.status_code == 409
    # updates still work, and other workspaces have their own count
    response = await client.post(
        URL + "?key=one", json={"name": "Uno", "type": "text"}, headers=auth(world.a.company)
    )
    assert response.status_code == 200
    assert (
        await create(client, world.b.company, {"name": "One", "type": "text"})
    ).status_code == 201


async def test_pagination(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    session.add_all(
        ContactField(workspace_id=world.a.id, key=f"f{i:03}", name=f"F{i:03}") for i in range(255)
    )
    await session.commit()
    first = (await client.get(URL, headers=auth(world.a.viewer.personal))).json()
    assert len(first["results"]) == 250
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v2/fields.json?cursor=")
    second = (await client.get(first["next"], headers=auth(world.a.viewer.personal))).json()
    keys = [r["key"] for r in first["results"] + second["results"]]
    assert keys == [f"f{i:03}" for i in reversed(range(255))]
    assert second["next"] is None
    back = (await client.get(second["previous"], headers=auth(world.a.viewer.personal))).json()
    assert back["results"] == first["results"]


async def test_active_fields_contract(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    await create(client, world.a.company, {"name": "Nick Name", "type": "text"})
    await create(client, world.b.company, {"name": "Other", "type": "text"})
    await session.execute(
        update(ContactField).where(ContactField.key == "nick_name").values(is_active=False)
    )
    fields = await service.active_fields(session, world.a.id)
    assert list(fields) == ["age"]
    assert fields["age"].value_type == "number"
    assert isinstance(fields["age"], ContactField)


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/fields")
    assert response.status_code == 200
    for name in FieldRead.model_fields:
        assert f"<code>{name}</code>" in response.text
    assert "<code>key</code>" in response.text


async def test_nul_is_a_400_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.a.company, {"name": "Age", "type": "number"})
    response = await client.get(URL, params={"key": "age\x00"}, headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"key": ["Null characters are not allowed."]}
    response = await client.post(
        URL,
        params={"key": "a\x00"},
        json={"name": "X", "type": "text"},
        headers=auth(world.a.company),
    )
    assert response.status_code == 400
    assert response.json() == {"key": ["Null characters are not allowed."]}
