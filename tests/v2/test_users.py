"""REST v2 ``users.json`` against RapidPro's ``UsersEndpointTest`` (shapes, filters, codes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.users.schemas import MemberRead
from relaydesk.kit.ids import new_uuid
from relaydesk.kit.time import format_datetime
from relaydesk.models import Membership, Role, User
from tests.conftest import World, auth
from tests.v2.accounts import add_member

URL = "/api/v2/users.json"


async def emails(client: httpx.AsyncClient, token: str, query: str = "") -> list[str]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["email"] for r in response.json()["results"]]


async def users_by_email(session: AsyncSession) -> dict[str, User]:
    return {u.email: u for u in (await session.execute(select(User))).scalars()}


def a_emails(*roles: str) -> list[str]:
    return [f"{role}@alpha-org.example.com" for role in roles]


async def test_shape_and_order(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await add_member(
        session, world.a.uuid, "agent@alpha.example.com", Role.AGENT, first_name="Agnes"
    )
    await add_member(
        session,
        world.a.uuid,
        "ed@alpha.example.com",
        Role.EDITOR,
        first_name="Ed",
        last_name="McEdits",
    )
    users = await users_by_email(session)
    agnes, ed = users["agent@alpha.example.com"], users["ed@alpha.example.com"]

    response = await client.get(URL, headers=auth(world.a.viewer.personal))
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    # newest first
    assert [r["email"] for r in body["results"]] == [
        "ed@alpha.example.com",
        "agent@alpha.example.com",
        *a_emails("viewer", "editor", "administrator"),
    ]
    assert body["results"][0] == {
        "uuid": ed.uuid,
        "name": "Ed McEdits",
        "email": "ed@alpha.example.com",
        "first_name": "Ed",
        "last_name": "McEdits",
        "role": "editor",
        "team": None,
        "created_on": format_datetime(ed.created_on),
        "avatar": None,
    }
    assert body["results"][1] == {
        "uuid": agnes.uuid,
        "name": "Agnes",
        "email": "agent@alpha.example.com",
        "first_name": "Agnes",
        "last_name": "",
        "role": "agent",
        "team": None,
        "created_on": format_datetime(agnes.created_on),
        "avatar": None,
    }
    assert [r["role"] for r in body["results"][2:]] == ["viewer", "editor", "administrator"]
    assert body["results"][2]["name"] == ""
    for result in body["results"]:
        MemberRead.model_validate(result)


async def test_every_token_sees_the_workspace_members(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    expected = ["agent@alpha.example.com", *a_emails("viewer", "editor", "administrator")]
    for token in (world.a.company, world.a.viewer.personal, world.a.editor.personal, agent.token):
        assert await emails(client, token) == expected
    assert await emails(client, world.b.company) == [
        f"{role}@beta-org.example.com" for role in ("viewer", "editor", "administrator")
    ]


async def test_a_user_in_two_workspaces_has_a_role_in_each(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    shared = await add_member(session, world.a.uuid, "both@example.org", Role.EDITOR)
    await add_member(session, world.b.uuid, "both@example.org", Role.VIEWER)
    a_body = await client.get(URL + "?email=both@example.org", headers=auth(world.a.company))
    b_body = await client.get(URL + "?email=both@example.org", headers=auth(world.b.company))
    assert [(r["uuid"], r["role"]) for r in a_body.json()["results"]] == [(shared.uuid, "editor")]
    assert [(r["uuid"], r["role"]) for r in b_body.json()["results"]] == [(shared.uuid, "viewer")]


async def test_deleted_users_are_left_out(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    await session.execute(
        update(User)
        .where(User.email == "viewer@alpha-org.example.com")
        .values(deleted_on=datetime.now(UTC))
    )
    await session.commit()
    assert await emails(client, world.a.company) == a_emails("editor", "administrator")


async def test_filters(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    agent = await add_member(session, world.a.uuid, "agent@alpha.example.com", Role.AGENT)
    users = await users_by_email(session)
    editor = users["editor@alpha-org.example.com"]
    admin = users["administrator@alpha-org.example.com"]
    b_admin = users["administrator@beta-org.example.com"]
    token = world.a.company

    assert await emails(client, token, f"?uuid={editor.uuid}&uuid={admin.uuid}") == a_emails(
        "editor", "administrator"
    )
    assert await emails(client, token, f"?uuid={editor.uuid.upper()}") == a_emails("editor")
    assert await emails(client, token, f"?uuid={b_admin.uuid}") == []
    assert await emails(client, token, "?uuid=") == await emails(client, token)

    assert await emails(
        client, token, "?email=agent@alpha.example.com&email=EDITOR@alpha-org.example.com"
    ) == ["agent@alpha.example.com", *a_emails("editor")]
    assert await emails(client, token, "?email=administrator@beta-org.example.com") == []

    assert await emails(client, token, "?role=agent&role=editor") == [
        agent.email,
        *a_emails("editor"),
    ]
    assert await emails(client, token, "?role=caretaker&role=editor") == a_emails("editor")
    assert await emails(client, token, "?role=caretaker") == []
    assert await emails(client, token, f"?role=administrator&uuid={editor.uuid}") == []


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("?uuid=xyz", "Param 'uuid': xyz is not a valid UUID."),
        ("?uuid=" + "&uuid=".join(new_uuid() for _ in range(101)), None),
    ],
)
async def test_bad_uuid_filters(
    client: httpx.AsyncClient, world: World, query: str, detail: str | None
) -> None:
    response = await client.get(URL + query, headers=auth(world.a.company))
    assert response.status_code == 400
    assert response.json() == {"detail": detail or "Param 'uuid' can have a maximum of 100 values."}


async def test_pagination(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    new_users = [
        User(email=f"u{i:03}@example.org", created_on=start + timedelta(seconds=i))
        for i in range(250)
    ]
    session.add_all(new_users)
    await session.flush()
    session.add_all(
        Membership(workspace_id=world.a.id, user_id=u.id, role=Role.VIEWER.value) for u in new_users
    )
    await session.commit()
    first = (await client.get(URL, headers=auth(world.a.company))).json()
    assert len(first["results"]) == 250
    second = (await client.get(first["next"], headers=auth(world.a.company))).json()
    listed = [r["email"] for r in first["results"] + second["results"]]
    assert listed == [
        *a_emails("viewer", "editor", "administrator"),
        *(f"u{i:03}@example.org" for i in reversed(range(250))),
    ]
    assert second["next"] is None
    back = (await client.get(second["previous"], headers=auth(world.a.company))).json()
    assert back["results"] == first["results"]
    only = (await client.get(URL + "?role=administrator", headers=auth(world.a.company))).json()
    assert [r["email"] for r in only["results"]] == a_emails("administrator")


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT", "PATCH"])
async def test_read_only(client: httpx.AsyncClient, world: World, method: str) -> None:
    body: dict[str, Any] = {"email": "new@example.org"}
    response = await client.request(method, URL, json=body, headers=auth(world.a.company))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 403


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/users")
    assert response.status_code == 200
    for name in MemberRead.model_fields:
        assert f"<code>{name}</code>" in response.text


async def test_nul_is_a_400_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    for query, param in (("?email=a%00", "email"), ("?role=editor%00", "role")):
        response = await client.get(URL + query, headers=auth(world.a.company))
        assert response.status_code == 400
        assert response.json() == {param: ["Null characters are not allowed."]}
