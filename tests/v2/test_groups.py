"""``/api/v2/groups.json`` and the group service used by contacts (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temba_client.v2.types import Group

from relaydesk.domains.groups import service
from relaydesk.domains.groups.schemas import GroupRead
from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.auth.principal import Principal
from relaydesk.models import (
    Contact,
    ContactField,
    ContactGroup,
    ContactURN,
    GroupStatus,
    Role,
    TokenKind,
    User,
    contact_group_members,
)
from tests.conftest import Tenant, World, auth
from tests.v2.accounts import add_member

URL = "/api/v2/groups.json"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# -- helpers -----------------------------------------------------------------------------------


async def post(client: httpx.AsyncClient, token: str, body: Any, query: str = "") -> httpx.Response:
    return await client.post(URL + query, json=body, headers=auth(token))


async def results(client: httpx.AsyncClient, token: str, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(URL + query, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def company(tenant: Tenant) -> Principal:
    return Principal.operator(tenant.id, tenant.uuid, "standard")


async def personal(session: AsyncSession, tenant: Tenant, email: str, role: Role) -> Principal:
    user = (await session.execute(select(User).where(User.email == email))).scalar_one()
    return Principal(
        workspace_id=tenant.id,
        workspace_uuid=tenant.uuid,
        plan="standard",
        user_id=user.id,
        user_uuid=user.uuid,
        user_email=email,
        role=role,
        token_id=None,
        token_kind=TokenKind.PERSONAL,
        api_version="v2",
    )


async def contact(
    session: AsyncSession,
    tenant: Tenant,
    name: str | None,
    *,
    fields: dict[str, Any] | None = None,
    urns: tuple[str, ...] = (),
    status: str = "active",
    language: str | None = None,
    created_on: datetime = T0,
) -> Contact:
    row = Contact(
        workspace_id=tenant.id,
        name=name,
        fields=fields or {},
        status=status,
        language=language,
        created_on=created_on,
        modified_on=created_on,
    )
    session.add(row)
    await session.flush()
    for priority, urn in enumerate(urns):
        scheme, _, path = urn.partition(":")
        session.add(
            ContactURN(
                workspace_id=tenant.id,
                contact_id=row.id,
                scheme=scheme,
                path=path,
                identity=urn,
                priority=1000 - priority,
            )
        )
    await session.flush()
    return row


async def field(session: AsyncSession, tenant: Tenant, key: str, value_type: str) -> ContactField:
    row = ContactField(workspace_id=tenant.id, key=key, name=key.title(), value_type=value_type)
    session.add(row)
    await session.flush()
    return row


async def member_ids(session: AsyncSession, group_uuid: str) -> set[int]:
    stmt = (
        select(contact_group_members.c.contact_id)
        .join(ContactGroup, ContactGroup.id == contact_group_members.c.group_id)
        .where(ContactGroup.uuid == group_uuid)
    )
    return set((await session.execute(stmt)).scalars())


async def orm_group(session: AsyncSession, tenant: Tenant, name: str, **kw: Any) -> ContactGroup:
    group = ContactGroup(workspace_id=tenant.id, name=name, **kw)
    session.add(group)
    await session.flush()
    return group


# -- listing -----------------------------------------------------------------------------------


async def test_shape_order_and_counts(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    ann = await contact(session, a, "Ann")
    bob = await contact(session, a, "Bob")
    gone = await contact(session, a, "Gone")
    await session.commit()

    first = await post(client, a.company, {"name": "Customers"})
    assert first.status_code == 201
    customers = first.json()
    await service.add_members(
        session,
        await service.get(session, company(a), customers["uuid"]),
        [ann.id, bob.id, gone.id],
    )
    gone.is_active = False  # a deleted contact isn't counted
    await session.commit()
    second = await post(client, a.company, {"name": "Developers", "query": 'name ~ "ann"'})
    assert second.status_code == 201

    body = (await client.get(URL, headers=auth(a.company))).json()
    assert body["next"] is None
    assert body["previous"] is None
    assert body["results"] == [
        {
            "uuid": second.json()["uuid"],
            "name": "Developers",
            "query": 'name ~ "ann"',
            "status": "ready",
            "system": False,
            "count": 1,
        },
        {
            "uuid": customers["uuid"],
            "name": "Customers",
            "query": None,
            "status": "ready",
            "system": False,
            "count": 2,
        },
    ]
    for item in body["results"]:
        GroupRead.model_validate(item)
        parsed = Group.deserialize(item)  # the official client reads it
        assert parsed.uuid == item["uuid"]
        assert parsed.count == item["count"]
        assert parsed.system is False


async def test_statuses_system_and_initializing(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    await orm_group(session, a, "Open Tickets", query="tickets > 0", is_system=True)
    await orm_group(session, a, "Starting", status=GroupStatus.INITIALIZING.value)
    await orm_group(session, a, "Broken", query="age > 1", status=GroupStatus.FAILED.value)
    await orm_group(session, a, "Busy", query="age > 2", status=GroupStatus.EVALUATING.value)
    await session.commit()
    listed = {g["name"]: g for g in await results(client, a.company)}
    assert set(listed) == {"Open Tickets", "Broken", "Busy"}  # initializing groups are hidden
    assert listed["Open Tickets"]["system"] is True
    assert listed["Broken"]["status"] == "invalid"
    assert listed["Busy"]["status"] == "evaluating"


async def test_filters(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    a = world.a
    uuids = {}
    for body in (
        {"name": "Équipe"},
        {"name": "Reporters"},
        {"name": "Smart", "query": "status = active"},
    ):
        response = await post(client, a.company, body)
        assert response.status_code == 201
        uuids[body["name"]] = response.json()["uuid"]
    await orm_group(session, a, "Open Tickets", query="tickets > 0", is_system=True)
    await session.commit()
    other = (await post(client, world.b.company, {"name": "Reporters"})).json()

    names = lambda items: [g["name"] for g in items]  # noqa: E731
    assert names(await results(client, a.company, f"?uuid={uuids['Reporters']}")) == ["Reporters"]
    upper = uuids["Reporters"].upper()
    assert names(await results(client, a.company, f"?uuid={upper}")) == ["Reporters"]
    assert names(await results(client, a.company, f"?uuid={other['uuid']}")) == []
    assert names(await results(client, a.company, "?name=reporters")) == ["Reporters"]
    assert names(await results(client, a.company, "?name=ÉQUIPE")) == ["Équipe"]
    assert names(await results(client, a.company, "?name=nobody")) == []
    assert names(await results(client, a.company, "?manual_only=true")) == ["Reporters", "Équipe"]
    assert len(await results(client, a.company, "?manual_only=false")) == 4

    both = await client.get(URL + f"?uuid={uuids['Smart']}&name=Smart", headers=auth(a.company))
    assert both.status_code == 400
    assert both.json() == {"detail": "You may only specify one of the uuid, name parameters"}
    bad = await client.get(URL + "?uuid=nope", headers=auth(a.company))
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Param 'uuid': nope is not a valid UUID."}
    bad_bool = await client.get(URL + "?manual_only=maybe", headers=auth(a.company))
    assert bad_bool.status_code == 400
    assert bad_bool.json() == {"manual_only": ["Must be a valid boolean."]}


async def test_pagination(client: httpx.AsyncClient, world: World, session: AsyncSession) -> None:
    a = world.a
    for i in range(255):
        created = T0 + timedelta(seconds=i // 2)  # ties on created_on are broken by id
        await orm_group(session, a, f"g{i:03}", created_on=created, modified_on=created)
    await session.commit()
    page1 = (await client.get(URL, headers=auth(a.company))).json()
    assert len(page1["results"]) == 250
    assert page1["previous"] is None
    assert page1["next"].startswith("http://testserver/api/v2/")
    page2 = (await client.get(page1["next"], headers=auth(a.company))).json()
    assert len(page2["results"]) == 5
    assert page2["next"] is None
    seen = [g["name"] for g in page1["results"] + page2["results"]]
    assert seen == [f"g{i:03}" for i in reversed(range(255))]
    back = (await client.get(page2["previous"], headers=auth(a.company))).json()
    assert [g["name"] for g in back["results"]] == seen[:250]


# -- writing -----------------------------------------------------------------------------------


async def test_create_update_delete(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    created = await post(client, a.editor.personal, {"name": "  Reporters  ", "extra": 1})
    assert created.status_code == 201
    group = created.json()
    assert group == {
        "uuid": group["uuid"],
        "name": "Reporters",
        "query": None,
        "status": "ready",
        "system": False,
        "count": 0,
    }
    ann = await contact(session, a, "Ann")
    await service.add_members(
        session, await service.get(session, company(a), group["uuid"]), [ann.id]
    )
    await session.commit()

    renamed = await post(
        client, a.editor.personal, {"name": "U-Reporters"}, f"?uuid={group['uuid']}"
    )
    assert renamed.status_code == 200
    assert renamed.json() == {**group, "name": "U-Reporters", "count": 1}
    same_name = await post(
        client, a.editor.personal, {"name": "u-reporters"}, f"?uuid={group['uuid']}"
    )
    assert same_name.status_code == 200  # its own name, in another case, is fine

    deleted = await client.delete(URL + f"?uuid={group['uuid']}", headers=auth(a.editor.personal))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert await results(client, a.company) == []
    assert await member_ids(session, group["uuid"]) == set()
    row = (
        await session.execute(select(ContactGroup).where(ContactGroup.uuid == group["uuid"]))
    ).scalar_one()
    await session.refresh(row)
    assert row.is_active is False
    again = await client.delete(URL + f"?uuid={group['uuid']}", headers=auth(a.company))
    assert again.status_code == 404
    assert again.json() == {"detail": "Not found."}
    # the name is free again
    assert (await post(client, a.company, {"name": "U-Reporters"})).status_code == 201


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": ["x"]}, {"name": ["Not a valid string."]}),
        ({"name": '"People"'}, {"name": ['Cannot contain the character: "']}),
        ({"name": "back\\slash"}, {"name": ["Cannot contain the character: \\"]}),
        (
            {"name": "nul\x00l"},
            {"name": ["Null characters are not allowed."]},  # the v2 door rejects NUL first
        ),
        (
            {"name": "x" * 65},
            {
                "name": [
                    "Cannot be longer than 64 characters.",
                    "Ensure this field has no more than 64 characters.",
                ]
            },
        ),
        ({"name": "Q", "query": ""}, {"query": ["This field may not be blank."]}),
        (
            {"name": "Q", "query": "age >"},
            {"query": ["Invalid query syntax: the query ends unexpectedly."]},
        ),
        (
            {"name": "Q", "query": "beers > 3"},
            {"query": ["Can't resolve 'beers' to a field or URN scheme."]},
        ),
        (
            {"name": "Q", "query": "x" * 4097},
            {"query": ["Ensure this field has no more than 4096 characters."]},
        ),
        (
            {"query": "name ~ a"},
            {
                "name": ["This field is required."],
                "query": ["Using ~ with name requires token of at least 2 characters."],
            },
        ),
    ],
)
async def test_validation_errors(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = await post(client, world.a.company, body)
    assert response.status_code == 400
    assert response.json() == errors


async def test_bodies_that_are_not_objects(client: httpx.AsyncClient, world: World) -> None:
    headers = {**auth(world.a.company), "Content-Type": "application/json"}
    bad = await client.post(URL, content=b"{nope", headers=headers)
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("JSON parse error")
    listed = await client.post(URL, content=b"[1]", headers=headers)
    assert listed.status_code == 400
    assert listed.json() == {"non_field_errors": ["Request body should be a single JSON object"]}


async def test_names_are_unique_per_workspace(client: httpx.AsyncClient, world: World) -> None:
    a, b = world.a, world.b
    assert (await post(client, a.admin.personal, {"name": "Reporters"})).status_code == 201
    # another user's token can't see the group, but the name is still taken in the workspace
    taken = await post(client, a.editor.personal, {"name": "REPORTERS"})
    assert taken.status_code == 400
    assert taken.json() == {"name": ["This field must be unique."]}
    assert (await post(client, b.company, {"name": "Reporters"})).status_code == 201
    other = (await post(client, a.company, {"name": "Other"})).json()
    clash = await post(client, a.company, {"name": "reporters"}, f"?uuid={other['uuid']}")
    assert clash.status_code == 400
    assert clash.json() == {"name": ["This field must be unique."]}


async def test_workspace_limit(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    for i in range(service.MAX_GROUPS - 1):
        await orm_group(session, a, f"g{i}")
    await orm_group(session, a, "deleted", is_active=False)  # neither counts
    await orm_group(session, a, "Open Tickets", query="tickets > 0", is_system=True)
    for i in range(5):
        await orm_group(session, world.b, f"b{i}")
    await session.commit()
    assert (await post(client, a.company, {"name": "Last"})).status_code == 201
    full = await post(client, a.company, {"name": '"invalid" too'})
    assert full.status_code == 409
    assert full.json() == {
        "detail": "Cannot create object because workspace has reached limit of 250."
    }
    # renaming still works at the limit
    last = (await results(client, a.company, "?name=Last"))[0]
    assert (
        await post(client, a.company, {"name": "Last!"}, f"?uuid={last['uuid']}")
    ).status_code == 200


async def test_system_groups_are_read_only(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    group = await orm_group(session, world.a, "Open Tickets", query="tickets > 0", is_system=True)
    await session.commit()
    update = await post(client, world.a.company, {"name": "Won't work"}, f"?uuid={group.uuid}")
    assert update.status_code == 403
    assert update.json() == {"detail": "Cannot modify system object."}
    delete = await client.delete(URL + f"?uuid={group.uuid}", headers=auth(world.a.company))
    assert delete.status_code == 403
    assert delete.json() == {"detail": "Cannot delete system object."}


async def test_not_found_and_bad_requests(client: httpx.AsyncClient, world: World) -> None:
    token = world.a.company
    missing = "15611256-95b5-46d5-b857-abafe0d32fe9"
    for query in (f"?uuid={missing}", "?uuid=nope", "?uuid="):
        response = await post(client, token, {"name": "X"}, query)
        assert response.status_code == 404, query
        assert response.json() == {"detail": "Not found."}
        response = await client.delete(URL + query, headers=auth(token))
        assert response.status_code == 404, query
    no_uuid = await client.delete(URL, headers=auth(token))
    assert no_uuid.status_code == 400
    assert no_uuid.json() == {"detail": "URL must contain one of the following parameters: uuid"}
    # the lookup comes before the body (RapidPro)
    lookup_first = await client.post(
        URL + f"?uuid={missing}",
        content=b"{",
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert lookup_first.status_code == 404


async def test_methods_and_permissions(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    put = await client.put(URL, json={"name": "X"}, headers=auth(a.company))
    assert put.status_code == 405
    assert put.json() == {"detail": 'Method "PUT" not allowed.'}
    no_token = await client.get(URL)
    assert no_token.status_code == 403

    group = (await post(client, a.company, {"name": "Team"})).json()
    denied = {"detail": "You do not have permission to perform this action."}
    viewer = a.viewer.personal
    assert (await client.get(URL, headers=auth(viewer))).status_code == 200
    response = await post(client, viewer, {"name": "Nope"})
    assert response.status_code == 403
    assert response.json() == denied
    response = await client.delete(URL + f"?uuid={group['uuid']}", headers=auth(viewer))
    assert response.status_code == 403
    assert response.json() == denied

    agent = await add_member(session, a.uuid, "agent@alpha.example.com", Role.AGENT)
    assert (await client.get(URL, headers=auth(agent.token))).status_code == 200
    response = await post(client, agent.token, {"name": "Nope"})
    assert response.status_code == 403
    assert response.json() == denied
    response = await client.delete(URL + f"?uuid={group['uuid']}", headers=auth(agent.token))
    assert response.status_code == 403
    assert response.json() == denied


async def test_workspace_isolation(client: httpx.AsyncClient, world: World) -> None:
    a, b = world.a, world.b
    spammers = (await post(client, b.company, {"name": "Spammers"})).json()
    mine = (await post(client, a.company, {"name": "Mine"})).json()
    assert [g["name"] for g in await results(client, a.company)] == ["Mine"]
    assert [g["name"] for g in await results(client, b.company)] == ["Spammers"]
    for token in (a.company, a.admin.personal):
        assert (
            await post(client, token, {"name": "X"}, f"?uuid={spammers['uuid']}")
        ).status_code == 404
        deleted = await client.delete(URL + f"?uuid={spammers['uuid']}", headers=auth(token))
        assert deleted.status_code == 404
    assert (
        await post(client, b.company, {"name": "X"}, f"?uuid={mine['uuid']}")
    ).status_code == 404
    assert [g["name"] for g in await results(client, b.company)] == ["Spammers"]


async def test_personal_tokens_see_their_own_groups(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    admins = (await post(client, a.admin.personal, {"name": "Admin's"})).json()
    editors = (await post(client, a.editor.personal, {"name": "Editor's"})).json()
    cos = (await post(client, a.company, {"name": "Company's"})).json()
    # the company token acts for the administrator who made it: its groups are theirs
    assert [g["name"] for g in await results(client, a.admin.personal)] == [
        "Company's",
        "Admin's",
    ]
    assert [g["name"] for g in await results(client, a.editor.personal)] == ["Editor's"]
    assert [g["name"] for g in await results(client, a.company)] == [
        "Company's",
        "Editor's",
        "Admin's",
    ]
    # owners: the token's user (the company token acts for its administrator)
    owners = dict((await session.execute(select(ContactGroup.uuid, ContactGroup.owner_id))).all())
    users = dict((await session.execute(select(User.email, User.id))).all())
    assert owners[admins["uuid"]] == users[a.admin.email]
    assert owners[editors["uuid"]] == users[a.editor.email]
    assert owners[cos["uuid"]] == users[a.admin.email]

    for method in ("post", "delete"):
        if method == "post":
            response = await post(
                client, a.editor.personal, {"name": "X"}, f"?uuid={admins['uuid']}"
            )
        else:
            response = await client.delete(
                URL + f"?uuid={admins['uuid']}", headers=auth(a.editor.personal)
            )
        assert response.status_code == 404
    assert (
        await post(client, a.company, {"name": "Renamed"}, f"?uuid={admins['uuid']}")
    ).status_code == 200


async def test_operator_groups_have_no_owner(world: World, session: AsyncSession) -> None:
    group = await service.write(session, company(world.a), None, {"name": "From the CLI"})
    assert group.owner_id is None


# -- smart groups ------------------------------------------------------------------------------


async def test_smart_group_evaluation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a, b = world.a, world.b
    await field(session, a, "age", "number")
    await field(session, a, "district", "district")
    ann = await contact(
        session,
        a,
        "Ann Smith",
        fields={"age": "30", "district": "Gasabo"},
        urns=("tel:+250788000001",),
    )
    bob = await contact(session, a, "Bob", fields={"age": "17"}, urns=("whatsapp:250788000002",))
    cat = await contact(session, a, "Cat", fields={"age": "40"}, status="blocked")
    dan = await contact(session, a, "Dan", fields={"age": "50", "district": "gasabo"})
    ghost = await contact(session, a, "Ghost", fields={"age": "60"})
    ghost.is_active = False
    await field(session, b, "age", "number")
    await contact(session, b, "Other workspace", fields={"age": "99"})
    await session.commit()

    adults = await post(client, a.company, {"name": "Adults", "query": "AGE >= 18"})
    assert adults.status_code == 201
    assert adults.json()["query"] == "age >= 18"
    assert adults.json()["count"] == 2  # Ann and Dan: Cat is blocked, Ghost deleted
    assert await member_ids(session, adults.json()["uuid"]) == {ann.id, dan.id}

    query = 'fields.district = "GASABO" and tel ~ 788000'
    gasabo = (await post(client, a.company, {"name": "Gasabo", "query": query})).json()
    assert gasabo["query"] == 'fields.district = "GASABO" AND tel ~ 788000'
    assert gasabo["count"] == 1  # Ann: Dan is in Gasabo too but has no phone number
    assert (
        await post(
            client,
            a.company,
            {"name": "Gasabo", "query": "district = gasabo OR whatsapp ~ 250788"},
            f"?uuid={gasabo['uuid']}",
        )
    ).json()["count"] == 3

    # a contact changes: the contacts domain calls contacts_changed
    bob.fields = {"age": "18"}
    cat.status = "active"
    dan.is_active = False
    await session.flush()
    await service.contacts_changed(session, a.id, [bob.id, cat.id, dan.id, ann.id])
    await session.commit()
    assert await member_ids(session, adults.json()["uuid"]) == {ann.id, bob.id, cat.id}
    assert await member_ids(session, gasabo["uuid"]) == {ann.id, bob.id}  # Dan was deleted
    listed = {g["name"]: g["count"] for g in await results(client, a.company)}
    assert listed == {"Adults": 3, "Gasabo": 2}

    # a manual group can't get a query; a smart group can't get contacts by hand
    manual = (await post(client, a.company, {"name": "Manual"})).json()
    refused = await post(
        client, a.company, {"name": "Manual", "query": "age > 1"}, f"?uuid={manual['uuid']}"
    )
    assert refused.status_code == 400
    assert refused.json() == {"query": ["Cannot add a query to a manual group."]}
    with pytest.raises(InvalidArgs) as caught:
        await service.resolve(session, company(a), ["adults"])
    assert caught.value.errors == {"groups": ["Contact group must not be query based: adults"]}


async def test_contacts_changed_removes_deleted_contacts_everywhere(
    world: World, session: AsyncSession
) -> None:
    a = world.a
    ann = await contact(session, a, "Ann")
    manual = await service.write(session, company(a), None, {"name": "Manual"})
    smart = await service.write(session, company(a), None, {"name": "Anns", "query": "name ~ ann"})
    await service.add_members(session, manual, [ann.id])
    assert await member_ids(session, smart.uuid) == {ann.id}
    ann.status = (
        "stopped"  # leaves smart groups, stays in manual ones (the contacts domain decides)
    )
    await session.flush()
    await service.contacts_changed(session, a.id, [ann.id])
    assert await member_ids(session, smart.uuid) == set()
    assert await member_ids(session, manual.uuid) == {ann.id}
    ann.is_active = False
    await session.flush()
    await service.contacts_changed(session, a.id, [ann.id, 987654])  # unknown ids are ignored
    assert await member_ids(session, manual.uuid) == set()
    await service.contacts_changed(session, a.id, [])


async def test_group_becomes_invalid_when_its_field_goes(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.a
    age = await field(session, a, "age", "number")
    ann = await contact(session, a, "Ann", fields={"age": "30"})
    await session.commit()
    group = (await post(client, a.company, {"name": "Adults", "query": "age > 18"})).json()
    assert group["count"] == 1
    age.is_active = False
    await session.commit()
    await service.contacts_changed(session, a.id, [ann.id])
    await session.commit()
    listed = await results(client, a.company)
    assert listed[0]["status"] == "invalid"
    assert listed[0]["count"] == 1


# -- the service the contacts domain uses ------------------------------------------------------


async def test_resolve(world: World, session: AsyncSession) -> None:
    a = world.a
    admin = await personal(session, a, a.admin.email, Role.ADMINISTRATOR)
    editor = await personal(session, a, a.editor.email, Role.EDITOR)
    reporters = await service.write(session, admin, None, {"name": "Reporters"})
    smart = await service.write(session, admin, None, {"name": "Smart", "query": "status = active"})
    other = await service.write(session, company(world.b), None, {"name": "Spammers"})

    found = await service.resolve(
        session, admin, [reporters.uuid.upper(), "REPORTERS", "smart"], allow_smart=True
    )
    assert found == [reporters, smart]
    assert await service.resolve(session, admin, []) == []

    cases = [
        (admin, ["Nope"], "No such object: Nope"),
        (admin, [""], "No such object: "),
        (admin, [other.uuid], f"No such object: {other.uuid}"),  # another workspace
        (editor, ["Reporters"], "No such object: Reporters"),  # another user's group
        (admin, [smart.uuid], f"Contact group must not be query based: {smart.uuid}"),
    ]
    for principal, refs, message in cases:
        with pytest.raises(InvalidArgs) as caught:
            await service.resolve(session, principal, refs, field="group")
        assert caught.value.errors == {"group": [message]}


async def test_memberships(world: World, session: AsyncSession) -> None:
    a = world.a
    admin = await personal(session, a, a.admin.email, Role.ADMINISTRATOR)
    editor = await personal(session, a, a.editor.email, Role.EDITOR)
    ann = await contact(session, a, "Ann")
    bob = await contact(session, a, "Bob")
    stranger = await contact(session, world.b, "Stranger")
    g1 = await service.write(session, admin, None, {"name": "One"})
    g2 = await service.write(session, admin, None, {"name": "Two"})
    g3 = await service.write(session, editor, None, {"name": "Editor's"})
    smart = await service.write(session, admin, None, {"name": "Anns", "query": "name = ann"})

    await service.add_members(session, g1, [ann.id, bob.id, ann.id, stranger.id])
    await service.add_members(session, g1, [ann.id])  # already there: no error
    assert await member_ids(session, g1.uuid) == {ann.id, bob.id}
    await service.remove_members(session, g1, [bob.id, 424242])
    assert await member_ids(session, g1.uuid) == {ann.id}

    await service.set_manual_groups(session, editor, ann, [g3])
    assert await member_ids(session, g1.uuid) == {ann.id}  # the editor can't see g1
    assert await member_ids(session, g3.uuid) == {ann.id}
    await service.set_manual_groups(session, admin, ann, [g2, smart])
    assert await member_ids(session, g1.uuid) == set()
    assert await member_ids(session, g2.uuid) == {ann.id}
    assert await member_ids(session, g3.uuid) == {ann.id}  # the admin's token can't see it
    assert await member_ids(session, smart.uuid) == {ann.id}  # by its query, untouched

    groups = await service.groups_for_contacts(session, [ann.id, bob.id, stranger.id])
    assert [g.name for g in groups[ann.id]] == ["Two", "Editor's", "Anns"]
    assert bob.id not in groups
    assert stranger.id not in groups
    await service.write(session, company(a), g2, {"name": "Two"})
    await service.delete(session, company(a), g2.uuid)
    groups = await service.groups_for_contacts(session, [ann.id])
    assert [g.name for g in groups[ann.id]] == ["Editor's", "Anns"]


async def test_docs_page_and_openapi(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/v2/groups")
    assert page.status_code == 200
    assert "http://testserver/api/v2/groups.json" in page.text
    for name in GroupRead.model_fields:
        assert f"<code>{name}</code>" in page.text
    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/api/v2/groups.json"]) == {"get", "post", "delete"}
