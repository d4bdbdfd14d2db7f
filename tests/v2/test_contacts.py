"""REST v2 ``contacts.json`` against RapidPro's ``ContactsEndpointTest``: shapes, filters,
pagination, create/update/delete codes, every validation message, URN rules, isolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from temba_client.exceptions import TembaBadRequestError, TembaNoSuchObjectError
from temba_client.v2 import TembaClient
from temba_client.v2.types import Contact as TembaContact

from relaydesk.app import RelaydeskApp
from relaydesk.domains.contacts import router_v2
from relaydesk.domains.contacts.schemas import ContactRead
from relaydesk.kit.time import format_datetime
from relaydesk.models import (
    Contact,
    ContactField,
    ContactGroup,
    ContactURN,
    User,
    contact_group_members,
)
from tests.conftest import World, auth
from tests.test_e2e_serve import fresh_database, server

URL = "/api/v2/contacts.json"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# -- helpers (test-only) -----------------------------------------------------------------------


async def make_field(
    session: AsyncSession, workspace_id: int, key: str, value_type: str = "text"
) -> ContactField:
    field = ContactField(
        workspace_id=workspace_id, key=key, name=key.title(), value_type=value_type
    )
    session.add(field)
    await session.commit()
    return field


async def make_group(
    session: AsyncSession,
    workspace_id: int,
    name: str,
    query: str | None = None,
    owner: str | None = None,
) -> ContactGroup:
    """A group, owned by the user with email ``owner`` (personal tokens see only those)."""
    owner_id = None
    if owner is not None:
        owner_id = (await session.execute(select(User.id).where(User.email == owner))).scalar_one()
    group = ContactGroup(workspace_id=workspace_id, name=name, query=query, owner_id=owner_id)
    session.add(group)
    await session.commit()
    return group


async def post(client: httpx.AsyncClient, token: str, body: Any, query: str = "") -> httpx.Response:
    return await client.post(URL + query, json=body, headers=auth(token))


async def create(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await post(client, token, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def results(client: httpx.AsyncClient, token: str, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def names(client: httpx.AsyncClient, token: str, query: str = "") -> list[str | None]:
    return [r["name"] for r in await results(client, token, query)]


async def db_contact(session: AsyncSession, uuid: str) -> Contact:
    stmt = select(Contact).where(Contact.uuid == uuid).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def identities(session: AsyncSession, uuid: str) -> list[str]:
    contact = await db_contact(session, uuid)
    rows = await session.execute(
        select(ContactURN.identity)
        .where(ContactURN.contact_id == contact.id)
        .order_by(ContactURN.priority.desc())
    )
    return list(rows.scalars())


async def group_names(session: AsyncSession, uuid: str) -> set[str]:
    contact = await db_contact(session, uuid)
    rows = await session.execute(
        select(ContactGroup.name)
        .join(contact_group_members, contact_group_members.c.group_id == ContactGroup.id)
        .where(contact_group_members.c.contact_id == contact.id)
    )
    return set(rows.scalars())


async def errors_of(response: httpx.Response) -> Any:
    assert response.status_code == 400, response.text
    return response.json()


# -- reading -----------------------------------------------------------------------------------


async def test_shape_of_a_created_contact_and_of_the_list(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await make_field(session, world.a.id, "nickname")
    await make_field(session, world.a.id, "gender")
    customers = await make_group(session, world.a.id, "Customers", owner=world.a.editor.email)
    token = world.a.editor.personal

    response = await post(
        client,
        token,
        {
            "name": "Don",
            "language": "fra",
            "urns": ["tel:0788000004", "twitter:@Don"],
            "groups": [customers.uuid],
            "fields": {"nickname": "Donnie"},
        },
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    don = await db_contact(session, body["uuid"])
    expected = {
        "uuid": don.uuid,
        "name": "Don",
        "status": "active",
        "language": "fra",
        "urns": ["tel:+250788000004", "twitter:don"],
        "groups": [{"uuid": customers.uuid, "name": "Customers"}],
        "notes": [],
        "fields": {"nickname": "Donnie", "gender": None},
        "flow": None,
        "created_on": format_datetime(don.created_on),
        "modified_on": format_datetime(don.modified_on),
        "last_seen_on": None,
        "blocked": False,
        "stopped": False,
    }
    assert body == expected
    ContactRead.model_validate(body)

    page = (await client.get(URL, headers=auth(world.a.company))).json()
    assert page == {"next": None, "previous": None, "results": [expected]}

    # an empty contact: every active field is there, null
    empty = await create(client, token, {})
    assert (empty["name"], empty["language"], empty["urns"], empty["groups"]) == (
        None,
        None,
        [],
        [],
    )
    assert empty["fields"] == {"nickname": None, "gender": None}
    assert (empty["status"], empty["blocked"]) == ("active", False)
    # all fields given but empty
    blank = await create(
        client, token, {"name": None, "language": None, "urns": [], "groups": [], "fields": {}}
    )
    assert (blank["name"], blank["urns"], blank["groups"]) == (None, [], [])

    # newest modified first
    assert await names(client, world.a.company) == [None, None, "Don"]

    # expanded URNs
    [row] = await results(client, world.a.company, f"?uuid={don.uuid}&expand_urns=true")
    assert row["urns"] == [
        {"channel": None, "scheme": "tel", "path": "+250788000004", "display": None},
        {"channel": None, "scheme": "twitter", "path": "don", "display": None},
    ]


async def test_deleted_contacts_have_the_reduced_shape(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await make_field(session, world.a.id, "nickname")
    group = await make_group(session, world.a.id, "Customers")
    token = world.a.company
    cat = await create(
        client,
        token,
        {"name": "Cat", "urns": ["tel:+250788000003"], "groups": [group.uuid]},
    )
    await create(client, token, {"name": "Alive"})
    response = await client.delete(URL + f"?uuid={cat['uuid']}", headers=auth(token))
    assert response.status_code == 204
    assert response.content == b""

    assert await names(client, token) == ["Alive"]
    contact = await db_contact(session, cat["uuid"])
    assert await results(client, token, "?deleted=true") == [
        {
            "uuid": cat["uuid"],
            "name": None,
            "status": None,
            "language": None,
            "urns": [],
            "groups": [],
            "notes": [],
            "fields": {},
            "flow": None,
            "created_on": format_datetime(contact.created_on),
            "modified_on": format_datetime(contact.modified_on),
            "last_seen_on": None,
            "blocked": None,
            "stopped": None,
        }
    ]
    assert not contact.is_active
    assert await identities(session, cat["uuid"]) == []  # URNs detached...
    assert await group_names(session, cat["uuid"]) == set()  # ...and groups left
    assert await names(client, token, "?deleted=false") == ["Alive"]


async def test_filters(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    token = world.a.company
    customers = await make_group(session, world.a.id, "Customers")
    ann = await create(client, token, {"name": "Ann", "urns": ["tel:0788000001"]})
    bob = await create(
        client, token, {"name": "Bob", "urns": ["tel:0788000002"], "groups": ["customers"]}
    )
    cat = await create(client, token, {"name": "Cat", "groups": [customers.uuid]})

    # uuid (any UUID spelling), invalid UUID
    assert await names(client, token, f"?uuid={bob['uuid']}") == ["Bob"]
    assert await names(client, token, f"?uuid={bob['uuid'].upper()}") == ["Bob"]
    response = await client.get(URL + "?uuid=nope", headers=auth(token))
    assert await errors_of(response) == {"detail": "Value for uuid must be a valid UUID"}

    # urn, normalised with the workspace country; unparseable → 400
    for urn in ("tel:078-8000001", "tel:+250788000001", "tel:0788000001"):
        assert await names(client, token, f"?urn={quote_plus(urn)}") == ["Ann"]
    assert await names(client, token, "?urn=twitter:nobody") == []
    response = await client.get(URL + "?urn=12345", headers=auth(token))
    assert await errors_of(response) == {"detail": "Invalid URN: 12345"}

    # group by uuid or name; unknown → empty
    assert await names(client, token, f"?group={customers.uuid}") == ["Cat", "Bob"]
    assert await names(client, token, "?group=Customers") == ["Cat", "Bob"]
    assert await names(client, token, "?group=invalid") == []

    # before / after on modified_on, inclusive
    ann_row = await db_contact(session, ann["uuid"])
    bob_row = await db_contact(session, bob["uuid"])
    before = quote_plus(format_datetime(ann_row.modified_on) or "")
    after = quote_plus(format_datetime(bob_row.modified_on) or "")
    assert await names(client, token, f"?before={before}") == ["Ann"]
    assert await names(client, token, f"?after={after}") == ["Cat", "Bob"]
    assert await names(client, token, f"?after={before}&before={after}") == ["Bob", "Ann"]
    response = await client.get(URL + "?before=yesterday", headers=auth(token))
    assert await errors_of(response) == {
        "before": ["Value 'yesterday' is not a valid ISO8601 date/time."]
    }
    response = await client.get(URL + "?after=9999-12-31T23:00:00-05:00", headers=auth(token))
    assert response.status_code == 400

    # deleted; a bad boolean is 400
    await client.delete(URL + f"?uuid={cat['uuid']}", headers=auth(token))
    assert await names(client, token, "?deleted=true") == [None]
    assert await names(client, token, "?deleted=1") == [None]
    response = await client.get(URL + "?deleted=maybe", headers=auth(token))
    assert await errors_of(response) == {"deleted": ["Must be a valid boolean."]}


async def test_pagination_over_many_contacts(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    group = await make_group(session, world.a.id, "Everyone")
    contacts = [
        Contact(
            workspace_id=world.a.id,
            name=f"C{i:03d}",
            fields={},
            created_on=T0,
            modified_on=T0 + timedelta(seconds=i // 2),  # pairs tie: the id decides
        )
        for i in range(260)
    ]
    session.add_all(contacts)
    session.add(Contact(workspace_id=world.b.id, name="Other", fields={}))
    await session.flush()
    session.add_all(
        ContactURN(
            workspace_id=world.a.id,
            contact_id=c.id,
            scheme="ext",
            path=c.name or "",
            identity=f"ext:{c.name}",
        )
        for c in contacts
    )
    await session.execute(
        contact_group_members.insert(),
        [{"group_id": group.id, "contact_id": c.id} for c in contacts],
    )
    await session.commit()

    response = await client.get(URL, headers=auth(world.a.company))
    first = response.json()
    assert len(first["results"]) == 250
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v2/contacts.json?cursor=")
    assert first["results"][0]["name"] == "C259"
    assert first["results"][0]["urns"] == ["ext:C259"]
    assert first["results"][0]["groups"] == [{"uuid": group.uuid, "name": "Everyone"}]

    second = (await client.get(first["next"], headers=auth(world.a.company))).json()
    assert [r["name"] for r in second["results"]] == [f"C{i:03d}" for i in range(9, -1, -1)]
    assert second["next"] is None
    assert second["previous"] is not None
    back = (await client.get(second["previous"], headers=auth(world.a.company))).json()
    assert [r["name"] for r in back["results"]] == [r["name"] for r in first["results"]]
    seen = [r["uuid"] for r in first["results"] + second["results"]]
    assert len(set(seen)) == 260

    # filters are kept in the links
    query = f"?group={group.uuid}&after={quote_plus(format_datetime(T0) or '')}"
    filtered = (await client.get(URL + query, headers=auth(world.a.company))).json()
    assert f"group={group.uuid}" in urlsplit(filtered["next"]).query
    rest = (await client.get(filtered["next"], headers=auth(world.a.company))).json()
    assert len(filtered["results"]) + len(rest["results"]) == 260


async def test_a_page_costs_the_same_queries_whatever_its_size(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    """URNs, groups and fields are loaded once per page (no N+1)."""
    await make_field(session, world.a.id, "nickname")
    group = await make_group(session, world.a.id, "Everyone")
    statements: list[str] = []

    def count(*args: Any) -> None:
        sql = str(args[2])
        if not sql.lstrip().upper().startswith("UPDATE API_TOKENS"):  # batched last_used_on
            statements.append(sql)

    async def queries_for(n: int) -> int:
        for i in range(n):
            await create(
                client,
                world.a.company,
                {"urns": [f"ext:{n}-{i}"], "groups": [group.uuid], "fields": {"nickname": "x"}},
            )
        await client.get(URL, headers=auth(world.a.company))  # warm the caches
        statements.clear()
        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        try:
            page = (await client.get(URL, headers=auth(world.a.company))).json()
        finally:
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
        assert all(r["urns"] and r["groups"] and r["fields"]["nickname"] for r in page["results"])
        return len(statements)

    small = await queries_for(2)
    assert await queries_for(20) == small
    assert small <= 2, statements  # the page (URNs and groups aggregated in it) (+ a group)


# -- writing -----------------------------------------------------------------------------------


async def test_create_update_by_uuid_and_urn(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await make_field(session, world.a.id, "nickname")
    await make_field(session, world.a.id, "gender")
    group = await make_group(session, world.a.id, "Customers", owner=world.a.editor.email)
    token = world.a.editor.personal

    jean = await create(
        client,
        token,
        {
            "name": "Jean",
            "language": "fra",
            "urns": ["tel:+250783333333", "twitter:JEAN"],
            "groups": [group.uuid],
            "fields": {"nickname": "Jado"},
        },
    )
    uuid = jean["uuid"]
    assert await identities(session, uuid) == ["tel:+250783333333", "twitter:jean"]
    modified = (await db_contact(session, uuid)).modified_on

    # an update without fields changes nothing (not even modified_on)
    response = await post(client, token, {}, f"?uuid={uuid}")
    assert response.status_code == 200
    assert response.json() == jean
    assert (await db_contact(session, uuid)).modified_on == modified

    # change everything
    response = await post(
        client,
        token,
        {
            "name": "Jason Undead",
            "language": "ita",
            "urns": ["tel:+250784444444"],
            "groups": [],
            "fields": {"nickname": "Žan", "gender": "frog"},
        },
        f"?uuid={uuid}",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["language"], body["urns"], body["groups"]) == (
        "Jason Undead",
        "ita",
        ["tel:+250784444444"],
        [],
    )
    assert body["fields"] == {"nickname": "Žan", "gender": "frog"}
    assert body["modified_on"] > jean["modified_on"]
    assert await group_names(session, uuid) == set()

    # an empty string (or null) clears a value; the others stay
    response = await post(client, token, {"fields": {"gender": ""}}, f"?uuid={uuid}")
    assert response.json()["fields"] == {"nickname": "Žan", "gender": None}
    response = await post(client, token, {"fields": {"nickname": None}}, f"?uuid={uuid}")
    assert response.json()["fields"] == {"nickname": None, "gender": None}

    # by URN (normalised): only the name changes, the URNs stay
    response = await post(
        client, token, {"name": "Jean III"}, f"?urn={quote_plus('tel:+250-78-4444444')}"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Jean III"
    assert response.json()["urns"] == ["tel:+250784444444"]

    # a URN nobody has: the contact is created with it (201)
    response = await post(
        client, token, {"name": "Bobby"}, f"?urn={quote_plus('tel:+250-78-5555555')}"
    )
    assert response.status_code == 201
    assert response.json()["urns"] == ["tel:+250785555555"]
    assert response.json()["name"] == "Bobby"

    # the owner is the token's user
    bobby = await db_contact(session, response.json()["uuid"])
    assert bobby.owner_id is not None

    # a contact that doesn't exist: 404
    response = await post(client, token, {}, "?uuid=ad6acad9-959b-4d70-b144-5de2891e4d00")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    response = await post(client, token, {}, "?uuid=not-a-uuid")
    assert response.status_code == 404


async def test_field_values_by_type(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await make_field(session, world.a.id, "age", "number")
    await make_field(session, world.a.id, "activated_at", "datetime")
    await make_field(session, world.a.id, "bio")
    await make_field(session, world.a.id, "state", "state")
    token = world.a.company
    uuid = (await create(client, token, {"name": "Joe"}))["uuid"]

    async def fields(values: dict[str, Any]) -> dict[str, Any]:
        response = await post(client, token, {"fields": values}, f"?uuid={uuid}")
        assert response.status_code == 200, response.text
        return dict(response.json()["fields"])

    assert (await fields({"age": "40.50"}))["age"] == "40.5"
    assert (await fields({"age": 18}))["age"] == "18"
    assert (await fields({"age": " 7 "}))["age"] == "7"
    assert (await fields({"age": "old"}))["age"] is None  # kept as text, not a number
    got = await fields({"activated_at": "2017-11-11T11:12:13Z"})
    assert got["activated_at"] == "2017-11-11T11:12:13+00:00"
    got = await fields({"activated_at": "2017-11-11 13:12:13+02:00"})
    assert got["activated_at"] == "2017-11-11T11:12:13+00:00"
    got = await fields({"activated_at": "31-12-2017"})  # the workspace's day-first style
    assert got["activated_at"] == "2017-12-31T00:00:00+00:00"
    assert (await fields({"activated_at": "2017-11-11T11:12:13"}))["activated_at"] is None
    assert (await fields({"activated_at": "12-31-2017"}))["activated_at"] is None
    assert (await fields({"activated_at": "el123a41"}))["activated_at"] is None
    got = await fields({"bio": "x" * 700, "state": "Kigali"})
    assert got["bio"] == "x" * 640
    assert got["state"] == "Kigali"


async def test_urn_normalisation_and_uniqueness(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    token = world.a.company
    xavier = await create(
        client,
        token,
        {
            "name": "Xavier",
            "urns": [
                "tel:+250-78-7777777",
                "twitter:XAVIER",
                "mailto:Xavier@Example.COM",
                "whatsapp:250788123123",
                "telegram:12345",
                "ext:abc#def",
                "tel:0787777777",  # the same number again: kept once
            ],
        },
    )
    assert xavier["urns"] == [
        "tel:+250787777777",
        "twitter:xavier",
        "mailto:xavier@example.com",
        "whatsapp:250788123123",
        "telegram:12345",
        "ext:abc",
    ]

    # a URN of another active contact → 400 at its position
    response = await post(
        client, token, {"name": "Robert", "urns": ["twitter:bob", "tel:+250 78 777 7777"]}
    )
    assert await errors_of(response) == {"urns": {"1": ["URN is in use by another contact."]}}
    robert = await create(client, token, {"name": "Robert", "urns": ["twitter:bob"]})
    response = await post(client, token, {"urns": ["twitter:XAVIER"]}, f"?uuid={robert['uuid']}")
    assert await errors_of(response) == {"urns": {"0": ["URN is in use by another contact."]}}

    # a URN the contact drops is free for another; reordering changes priorities
    response = await post(
        client, token, {"urns": ["twitter:xavier", "tel:+250787777777"]}, f"?uuid={xavier['uuid']}"
    )
    assert response.json()["urns"] == ["twitter:xavier", "tel:+250787777777"]
    response = await post(
        client, token, {"urns": ["mailto:xavier@example.com"]}, f"?uuid={robert['uuid']}"
    )
    assert response.status_code == 200
    assert response.json()["urns"] == ["mailto:xavier@example.com"]

    # a deleted contact's URNs are free too
    await client.delete(URL + f"?uuid={xavier['uuid']}", headers=auth(token))
    again = await create(client, token, {"name": "Xavier II", "urns": ["tel:0787777777"]})
    assert again["urns"] == ["tel:+250787777777"]

    # the same URN in another workspace is another identity
    other = await create(client, world.b.company, {"urns": ["tel:+250787777777"]})
    assert other["urns"] == ["tel:+250787777777"]

    # 100 URNs is fine
    response = await post(
        client, token, {"urns": [f"twitter:bob{u}" for u in range(100)]}, f"?uuid={robert['uuid']}"
    )
    assert response.status_code == 200
    assert len(response.json()["urns"]) == 100


async def test_validation_errors(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await make_field(session, world.a.id, "nickname")
    await make_group(
        session, world.a.id, "Developers", query='nickname = "dev"', owner=world.a.editor.email
    )
    other_group = await make_group(session, world.b.id, "Nerds")
    token = world.a.editor.personal

    async def check(body: Any, expected: Any, query: str = "") -> None:
        assert await errors_of(await post(client, token, body, query)) == expected

    # RapidPro's all-at-once case
    await check(
        {
            "name": "Jim",
            "language": "xyz",
            "urns": ["1234556789"],
            "groups": ["59686b4e-14bc-4160-9376-b649b218c806"],
            "fields": {"hmmm": "X"},
        },
        {
            "language": ["Not a valid ISO639-3 language code."],
            "groups": ["No such object: 59686b4e-14bc-4160-9376-b649b218c806"],
            "fields": ["Invalid contact field key: hmmm"],
            "urns": {"0": ["Invalid URN: 1234556789. Ensure phone numbers contain country codes."]},
        },
    )
    await check(
        {"name": "Jim", "groups": [other_group.uuid]},
        {"groups": [f"No such object: {other_group.uuid}"]},
    )
    await check(
        {"groups": ["Developers"]},
        {"groups": ["Contact group must not be query based: Developers"]},
    )
    await check(
        {"groups": "Developers"}, {"groups": ['Expected a list of items but got type "str".']}
    )
    await check({"groups": [{"uuid": "x"}]}, {"groups": ["Must be a string or integer"]})
    await check({"groups": None}, {"groups": ["This field may not be null."]})
    await check(
        {"groups": [str(i) for i in range(101)]},
        {"groups": ["Ensure this field has no more than 100 elements."]},
    )

    # name and language
    await check({"name": ""}, {"name": ["This field may not be blank."]})
    await check({"name": "x" * 65}, {"name": ["Ensure this field has no more than 64 characters."]})
    await check({"name": "a\x00b"}, {"name": ["Null characters are not allowed."]})
    await check({"name": ["Jim"]}, {"name": ["Not a valid string."]})
    await check({"language": "en"}, {"language": ["Ensure this field has at least 3 characters."]})
    await check(
        {"language": "engl"}, {"language": ["Ensure this field has no more than 3 characters."]}
    )

    # URNs
    await check(
        {"urns": "tel:+250788123123"}, {"urns": ['Expected a list of items but got type "str".']}
    )
    await check({"urns": None}, {"urns": ["This field may not be null."]})
    await check(
        {"urns": ["tel:+250788123123", "", None, "foo:bar", "twitter:not a handle", "tel:12"]},
        {
            "urns": {
                "1": ["This field may not be blank."],
                "2": ["This field may not be null."],
                "3": ["Invalid URN: foo:bar. Ensure phone numbers contain country codes."],
                "4": [
                    "Invalid URN: twitter:not a handle. Ensure phone numbers contain country codes."
                ],
                "5": ["Invalid URN: tel:12. Ensure phone numbers contain country codes."],
            }
        },
    )
    await check(
        {"urns": [f"twitter:bob{u}" for u in range(101)]},
        {"urns": ["Ensure this field has no more than 100 elements."]},
    )

    # fields
    await check(
        {"fields": ["x"]}, {"fields": ['Expected a dictionary of items but got type "list".']}
    )
    await check({"fields": None}, {"fields": ["This field may not be null."]})
    await check(
        {"fields": {"nickname": {"a": 1}, "other": "a\x00"}},
        {
            "fields": {
                "nickname": ["Not a valid string."],
                "other": ["Null characters are not allowed."],
            }
        },
    )
    await check(
        {"fields": {f"field_{f}": f for f in range(101)}},
        {"fields": ["Ensure this field has no more than 100 elements."]},
    )

    # the body must be a JSON object
    response = await client.post(URL, content=b"{nope", headers=auth(token))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    response = await post(client, token, [])
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


async def test_lookup_rules(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    token = world.a.editor.personal
    jean = await create(client, token, {"name": "Jean", "urns": ["tel:+250784444444"]})
    urn = quote_plus("tel:+250784444444")

    response = await post(client, token, {}, f"?uuid={jean['uuid']}&urn={urn}")
    assert await errors_of(response) == {
        "detail": "URL can only contain one of the following parameters: urn, uuid"
    }
    response = await post(client, token, {"urns": ["tel:+250785555555"]}, f"?urn={urn}")
    assert await errors_of(response) == {"urns": ["Field not allowed when using URN in URL"]}
    response = await post(client, token, {}, "?urn=12345")
    assert await errors_of(response) == {"detail": "Invalid URN: 12345"}
    response = await post(client, token, {}, "?urn=tel:12")  # nobody: create, but invalid
    assert await errors_of(response) == {
        "non_field_errors": ["Invalid URN: tel:12. Ensure phone numbers contain country codes."]
    }

    # a blocked contact can't be put in groups
    group = await make_group(session, world.a.id, "Testers", owner=world.a.editor.email)
    contact = await db_contact(session, jean["uuid"])
    contact.status = "blocked"
    await session.commit()
    response = await post(client, token, {"groups": [group.uuid]}, f"?uuid={jean['uuid']}")
    assert await errors_of(response) == {"groups": ["Non-active contacts can't be added to groups"]}
    response = await post(client, token, {"groups": []}, f"?uuid={jean['uuid']}")
    assert response.status_code == 200
    assert response.json()["status"] == "blocked"
    assert response.json()["blocked"] is True

    # delete: needs uuid or urn; by urn (normalised); unknown → 404; deleted can't be changed
    response = await client.delete(URL, headers=auth(token))
    assert await errors_of(response) == {
        "detail": "URL must contain one of the following parameters: urn, uuid"
    }
    response = await client.delete(
        URL + "?urn=" + quote_plus("tel:0784444444"), headers=auth(token)
    )
    assert response.status_code == 204
    response = await client.delete(URL + "?urn=twitter:billy", headers=auth(token))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    response = await client.delete(URL + f"?uuid={jean['uuid']}", headers=auth(token))
    assert response.status_code == 204  # already deleted: nothing to do, as RapidPro
    response = await post(client, token, {}, f"?uuid={jean['uuid']}")
    assert await errors_of(response) == {
        "non_field_errors": ["Deleted contacts can't be modified."]
    }
    response = await post(client, token, {"name": ""}, f"?uuid={jean['uuid']}")
    assert await errors_of(response) == {"name": ["This field may not be blank."]}


# -- access ------------------------------------------------------------------------------------


async def test_methods_permissions_and_docs(client: httpx.AsyncClient, world: World) -> None:
    for method in ("PUT", "PATCH"):
        response = await client.request(method, URL, headers=auth(world.a.company))
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}

    viewer = world.a.viewer.personal
    assert (await client.get(URL, headers=auth(viewer))).status_code == 200
    forbidden = {"detail": "You do not have permission to perform this action."}
    response = await post(client, viewer, {"name": "Nope"})
    assert response.status_code == 403
    assert response.json() == forbidden
    response = await client.delete(URL + "?urn=tel:+250788123123", headers=auth(viewer))
    assert (response.status_code, response.json()) == (403, forbidden)
    assert (await client.get(URL)).status_code == 403

    page = await client.get("/api/v2/contacts")
    assert page.status_code == 200
    for field in ContactRead.model_fields:
        assert f"<code>{field}</code>" in page.text
    assert "http://testserver/api/v2/contacts.json" in page.text
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/api/v2/contacts.json"]) == {"get", "post", "delete"}
    assert {e.rate_group for e in router_v2.endpoints} == {"v2.contacts"}


async def test_workspace_isolation(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    hans = await create(client, world.b.company, {"name": "Hans", "urns": ["tel:+250788000004"]})
    ours = await create(client, world.a.company, {"name": "Ours", "urns": ["tel:+250788000004"]})

    assert await names(client, world.a.company) == ["Ours"]
    assert await names(client, world.a.company, f"?uuid={hans['uuid']}") == []
    assert await results(client, world.a.company, "?urn=tel:+250788000004") == [ours]
    response = await post(client, world.a.company, {"name": "Mine"}, f"?uuid={hans['uuid']}")
    assert response.status_code == 404
    response = await client.delete(URL + f"?uuid={hans['uuid']}", headers=auth(world.a.company))
    assert response.status_code == 404
    assert (await db_contact(session, hans["uuid"])).name == "Hans"
    assert await names(client, world.b.company) == ["Hans"]


async def test_personal_tokens_see_only_their_own_contacts(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor, admin = world.a.editor.personal, world.a.admin.personal
    mine = await create(client, editor, {"name": "Editor's", "urns": ["twitter:eds"]})
    theirs = await create(client, admin, {"name": "Admin's"})

    assert await names(client, editor) == ["Editor's"]
    assert await names(client, admin) == ["Admin's"]
    assert await names(client, world.a.company) == ["Admin's", "Editor's"]
    response = await post(client, editor, {"name": "Taken"}, f"?uuid={theirs['uuid']}")
    assert response.status_code == 404
    response = await client.delete(URL + f"?uuid={theirs['uuid']}", headers=auth(editor))
    assert response.status_code == 404
    # a URN is unique in the workspace whoever owns its contact
    response = await post(client, admin, {"urns": ["twitter:eds"]})
    assert await errors_of(response) == {"urns": {"0": ["URN is in use by another contact."]}}
    assert (await db_contact(session, mine["uuid"])).owner_id is not None
    # company tokens own what they create by their creating user
    company = await create(client, world.a.company, {"name": "Company's"})
    assert (await db_contact(session, company["uuid"])).owner_id is not None


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?uuid=%00", 400),
        ("?urn=tel:%00", 400),
        ("?group=%00", 400),  # NUL in any query value: 400 from the v2 door
        ("?cursor=zzz", 404),
    ],
)
async def test_hostile_queries_do_not_fail(
    client: httpx.AsyncClient, world: World, query: str, status: int
) -> None:
    response = await client.get(URL + query, headers=auth(world.a.company))
    assert response.status_code == status, response.text


# -- the official client -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def temba(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TembaClient]:
    """``temba_client`` (unmodified) against a real ``relaydesk serve`` (demo workspace)."""
    tmp_path = tmp_path_factory.mktemp(f"contacts_{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(fresh_database(str(request.param), tmp_path))
        base, out, _log = stack.enter_context(server(env, tmp_path))
        match = re.search(r"company token\s*:\s*(rd_\w+)", out.read_text())
        assert match, out.read_text()
        yield TembaClient(base, match.group(1))


def test_official_client(temba: TembaClient) -> None:
    group = temba.create_group("Customers")
    ben = temba.create_contact(
        name="Ben", language="eng", urns=["tel:+250788123123", "twitter:Ben"], groups=[group]
    )
    assert isinstance(ben, TembaContact)
    assert (ben.name, ben.status, ben.language) == ("Ben", "active", "eng")
    assert ben.urns == ["tel:+250788123123", "twitter:ben"]
    assert [(g.uuid, g.name) for g in ben.groups] == [(group.uuid, "Customers")]
    assert ben.flow is None
    assert isinstance(ben.created_on, datetime)
    assert ben.fields == {}
    other = temba.create_contact(name="Other", urns=["telegram:1234"])

    assert [c.uuid for c in temba.get_contacts().all()] == [other.uuid, ben.uuid]
    assert [c.name for c in temba.get_contacts(uuid=ben.uuid).all()] == ["Ben"]
    assert [c.name for c in temba.get_contacts(urn="tel:+250788123123").all()] == ["Ben"]
    assert [c.name for c in temba.get_contacts(group="Customers").all()] == ["Ben"]
    assert [c.name for c in temba.get_contacts(after=other.modified_on).all()] == ["Other"]
    assert [c.name for c in temba.get_contacts(before=ben.modified_on).all()] == ["Ben"]

    ben = temba.update_contact(ben, name="Ben H")
    assert (ben.name, ben.urns) == ("Ben H", ["tel:+250788123123", "twitter:ben"])
    ben = temba.update_contact("twitter:ben", language="fra")
    assert (ben.name, ben.language) == ("Ben H", "fra")

    temba.bulk_remove_contacts([ben], group)
    assert temba.get_contacts(group=group).all() == []
    temba.bulk_add_contacts([ben.uuid, "telegram:1234"], group)
    assert len(temba.get_contacts(group=group.uuid).all()) == 2
    temba.bulk_block_contacts([other])
    assert temba.get_contacts(uuid=other.uuid).all()[0].status == "blocked"
    temba.bulk_unblock_contacts([other])
    temba.bulk_interrupt_contacts([other])
    temba.bulk_archive_contact_messages([other])
    assert temba.get_contacts(uuid=other.uuid).all()[0].status == "active"

    with pytest.raises(TembaBadRequestError) as error:
        temba.create_contact(urns=["nope"])
    assert error.value.errors == {
        "urns": {"0": ["Invalid URN: nope. Ensure phone numbers contain country codes."]}
    }
    with pytest.raises(TembaBadRequestError) as error:
        temba.bulk_add_contacts([ben], "Nope")
    assert error.value.errors == {"group": ["No such object: Nope"]}

    temba.delete_contact(ben)
    temba.bulk_delete_contacts([other])
    assert temba.get_contacts().all() == []
    deleted = temba.get_contacts(deleted=True).all()
    assert sorted(c.uuid for c in deleted) == sorted([ben.uuid, other.uuid])
    assert {c.name for c in deleted} == {None}
    with pytest.raises(TembaNoSuchObjectError):
        temba.delete_contact("tel:+250788123123")
    with pytest.raises(TembaNoSuchObjectError):
        temba.update_contact("ad6acad9-959b-4d70-b144-5de2891e4d00", name="Nobody")
