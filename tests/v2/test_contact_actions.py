"""REST v2 ``contact_actions.json`` against RapidPro's ``ContactActionsEndpointTest``."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import Contact, ContactURN
from tests.conftest import World, auth
from tests.v2.test_contacts import create, db_contact, group_names, make_field, make_group

URL = "/api/v2/contact_actions.json"
CONTACTS = "/api/v2/contacts.json"


async def act(client: httpx.AsyncClient, token: str, body: Any) -> httpx.Response:
    return await client.post(URL, json=body, headers=auth(token))


async def ok(client: httpx.AsyncClient, token: str, body: Any) -> None:
    response = await act(client, token, body)
    assert response.status_code == 204, response.text
    assert response.content == b""


async def error(client: httpx.AsyncClient, token: str, body: Any) -> Any:
    response = await act(client, token, body)
    assert response.status_code == 400, response.text
    return response.json()


async def statuses(session: AsyncSession, uuids: list[str]) -> list[str]:
    return [(await db_contact(session, u)).status for u in uuids]


async def test_actions(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    token = world.a.company
    ann, bob, cat, don, eve = [
        (await create(client, token, {"name": n, "urns": [f"tel:+25078800000{i}"]}))["uuid"]
        for i, n in enumerate(["Ann", "Bob", "Cat", "Don", "Eve"], start=1)
    ]
    await ok(client, token, {"contacts": [don], "action": "block"})
    await client.delete(CONTACTS + f"?uuid={eve}", headers=auth(token))
    testers = await make_group(session, world.a.id, "Testers")
    await make_field(session, world.a.id, "isdeveloper")
    await make_group(session, world.a.id, "Developers", query='isdeveloper = "YES"')
    other = await make_group(session, world.b.id, "Testers")

    # add, by uuid and URN (normalised with the workspace country); a deleted contact is unknown
    assert await error(
        client,
        token,
        {"contacts": [ann, "tel:0788000002", cat, don, eve], "action": "add", "group": "Testers"},
    ) == {"contacts": [f"No such object: {eve}"]}
    assert await error(
        client, token, {"contacts": [ann, bob, cat, don], "action": "add", "group": "Testers"}
    ) == {"non_field_errors": [f"Non-active contacts cannot be added to groups: {don}"]}
    before = (await db_contact(session, ann)).modified_on
    await ok(
        client, token, {"contacts": [ann, "tel:0788000002"], "action": "add", "group": "Testers"}
    )
    assert await group_names(session, ann) == {"Testers"}
    assert await group_names(session, bob) == {"Testers"}
    assert (await db_contact(session, ann)).modified_on > before
    await ok(client, token, {"contacts": [cat], "action": "add", "group": testers.uuid})
    assert await group_names(session, cat) == {"Testers"}
    listed = (await client.get(CONTACTS + "?group=Testers", headers=auth(token))).json()
    assert [r["name"] for r in listed["results"]] == ["Cat", "Bob", "Ann"]

    # group errors
    for ref in ("Spammers", "15611256-95b5-46d5-b857-abafe0d32fe9", other.uuid):
        assert await error(client, token, {"contacts": [ann], "action": "add", "group": ref}) == {
            "group": [f"No such object: {ref}"]
        }
    assert await error(
        client, token, {"contacts": [ann], "action": "add", "group": "Developers"}
    ) == {"group": ["Contact group must not be query based: Developers"]}
    assert await error(client, token, {"contacts": [ann], "action": "add"}) == {
        "non_field_errors": ['For action "add" you should also specify a group']
    }
    for empty in ("", None):
        assert await error(client, token, {"contacts": [ann], "action": "add", "group": empty}) == {
            "group": ["This field may not be null."]
        }
    assert await error(
        client, token, {"contacts": [cat], "action": "block", "group": "Testers"}
    ) == {"non_field_errors": ['For action "block" you should not specify a group']}

    # remove, by name (case-insensitive) and uuid
    await ok(client, token, {"contacts": [bob], "action": "remove", "group": "testers"})
    assert await group_names(session, bob) == set()
    await ok(client, token, {"contacts": [cat], "action": "remove", "group": testers.uuid})
    assert await group_names(session, cat) == set()
    assert await group_names(session, ann) == {"Testers"}

    # block, unblock
    await ok(client, token, {"contacts": [ann, bob, cat, don], "action": "block"})
    assert await statuses(session, [ann, bob, cat, don]) == ["blocked"] * 4
    [row] = (await client.get(CONTACTS + f"?uuid={ann}", headers=auth(token))).json()["results"]
    assert (row["status"], row["blocked"], row["stopped"]) == ("blocked", True, False)
    await ok(client, token, {"contacts": [ann], "action": "unblock"})
    assert await statuses(session, [ann, bob, cat, don]) == [
        "active",
        "blocked",
        "blocked",
        "blocked",
    ]

    # interrupt and archive_messages (and its old name) are accepted: nothing to do yet
    modified = (await db_contact(session, ann)).modified_on
    for action in ("interrupt", "archive_messages", "archive"):
        await ok(client, token, {"contacts": [ann, bob], "action": action})
    assert (await db_contact(session, ann)).modified_on == modified

    # delete: inactive, URNs detached, out of groups
    await ok(client, token, {"contacts": [ann, bob], "action": "delete"})
    for uuid in (ann, bob):
        contact = await db_contact(session, uuid)
        assert not contact.is_active
        assert await group_names(session, uuid) == set()
        urns = await session.execute(select(ContactURN).where(ContactURN.contact_id == contact.id))
        assert list(urns.scalars()) == []
    active = await session.execute(
        select(Contact.name).where(Contact.workspace_id == world.a.id, Contact.is_active.is_(True))
    )
    assert set(active.scalars()) == {"Cat", "Don"}


async def test_validation(client: httpx.AsyncClient, world: World) -> None:
    token = world.a.editor.personal
    cat = (await create(client, token, {"name": "Cat"}))["uuid"]

    assert await error(
        client, token, {"contacts": [str(x) for x in range(101)], "action": "block"}
    ) == {"contacts": ["Ensure this field has no more than 100 elements."]}
    assert await error(client, token, {"contacts": [], "action": "block"}) == {
        "contacts": ["Contacts can't be empty."]
    }
    assert await error(client, token, {"contacts": [cat], "action": "like"}) == {
        "action": ['"like" is not a valid choice.']
    }
    assert await error(client, token, {}) == {
        "contacts": ["This field is required."],
        "action": ["This field is required."],
    }
    assert await error(client, token, {"contacts": cat, "action": None}) == {
        "contacts": ['Expected a list of items but got type "str".'],
        "action": ["This field may not be null."],
    }
    assert await error(client, token, {"contacts": [{"uuid": cat}], "action": "block"}) == {
        "contacts": ["Must be a string or integer"]
    }
    assert await error(client, token, {"contacts": ["tel:%00", "\x00"], "action": "block"}) == {
        "contacts": ["No such object: tel:%00"]
    }
    response = await act(client, token, [])
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


async def test_methods_permissions_and_docs(client: httpx.AsyncClient, world: World) -> None:
    for method in ("GET", "DELETE", "PUT"):
        response = await client.request(method, URL, headers=auth(world.a.company))
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    response = await act(client, world.a.viewer.personal, {"contacts": ["x"], "action": "block"})
    assert response.status_code == 403
    assert (await client.post(URL, json={})).status_code == 403
    page = await client.get("/api/v2/contact_actions")
    assert page.status_code == 200
    assert "archive_messages" in page.text
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/api/v2/contact_actions.json"]) == {"post"}


async def test_isolation_and_personal_scope(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    hans = (await create(client, world.b.company, {"name": "Hans", "urns": ["twitter:hans"]}))[
        "uuid"
    ]
    mine = (await create(client, world.a.editor.personal, {"name": "Mine"}))["uuid"]
    theirs = (await create(client, world.a.admin.personal, {"name": "Theirs"}))["uuid"]

    # another workspace's contacts don't exist, by uuid or URN
    for ref in (hans, "twitter:hans"):
        assert await error(client, world.a.company, {"contacts": [ref], "action": "block"}) == {
            "contacts": [f"No such object: {ref}"]
        }
    # a personal token acts only on its user's contacts; the company token on all
    assert await error(
        client, world.a.editor.personal, {"contacts": [mine, theirs], "action": "block"}
    ) == {"contacts": [f"No such object: {theirs}"]}
    await ok(client, world.a.editor.personal, {"contacts": [mine], "action": "block"})
    await ok(client, world.a.company, {"contacts": [mine, theirs], "action": "delete"})
    assert [(await db_contact(session, u)).is_active for u in (mine, theirs, hans)] == [
        False,
        False,
        True,
    ]
    # B's groups can't be used from A
    group = await make_group(session, world.b.id, "B only")
    alive = (await create(client, world.a.company, {"name": "Alive"}))["uuid"]
    assert await error(
        client, world.a.company, {"contacts": [alive], "action": "add", "group": group.uuid}
    ) == {"group": [f"No such object: {group.uuid}"]}


async def test_smart_groups_follow_contact_changes(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    """Creating, updating, blocking and deleting contacts re-evaluates smart groups."""
    token = world.a.company
    await make_field(session, world.a.id, "nickname")
    response = await client.post(
        "/api/v2/groups.json",
        json={"name": "Devs", "query": 'nickname = "dev"'},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    devs = response.json()["uuid"]

    async def members() -> list[str]:
        page = await client.get(CONTACTS + f"?group={devs}", headers=auth(token))
        return [r["name"] for r in page.json()["results"]]

    ann = (await create(client, token, {"name": "Ann", "fields": {"nickname": "dev"}}))["uuid"]
    bob = (await create(client, token, {"name": "Bob"}))["uuid"]
    assert await members() == ["Ann"]
    [row] = (await client.get(CONTACTS + f"?uuid={ann}", headers=auth(token))).json()["results"]
    assert row["groups"] == [{"uuid": devs, "name": "Devs"}]

    await client.post(
        CONTACTS + f"?uuid={bob}", json={"fields": {"nickname": "dev"}}, headers=auth(token)
    )
    assert await members() == ["Bob", "Ann"]
    await ok(client, token, {"contacts": [ann], "action": "block"})
    assert await members() == ["Bob"]
    await ok(client, token, {"contacts": [ann], "action": "unblock"})
    assert sorted(await members()) == ["Ann", "Bob"]
    await ok(client, token, {"contacts": [bob], "action": "delete"})
    assert await members() == ["Ann"]
    # a smart group can be a filter but not a target of add / remove
    assert await error(client, token, {"contacts": [ann], "action": "remove", "group": devs}) == {
        "group": [f"Contact group must not be query based: {devs}"]
    }
