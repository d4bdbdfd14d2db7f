"""property.list / get / create / update: shapes, departments, argument errors, permissions,
pages and workspace isolation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant, World
from tests.rpc.conftest import failed, ok, rpc

MISSING = "00000000-0000-4000-8000-000000000000"


async def create(client: httpx.AsyncClient, tenant: Tenant, **args: Any) -> dict[str, Any]:
    args = {"name": "Acme Store", **args}
    prop: dict[str, Any] = ok(
        await rpc(client, "property.create", tenant.admin.personal_v3, **args)
    )["property"]
    return prop


async def test_create_with_only_a_name(client: httpx.AsyncClient, world: World) -> None:
    body = ok(await rpc(client, "property.create", world.a.admin.personal_v3, name="  Shop  "))
    assert set(body) == {"ok", "property"}
    prop = body["property"]
    assert prop["name"] == "Shop"
    assert prop["website"] is None
    assert prop["widget"] == {}
    assert prop["departments"] == []
    assert prop["member_count"] == 1  # the creator is its owner
    assert prop["created_on"].endswith("Z")

    got = ok(await rpc(client, "property.get", world.a.viewer.personal_v3, uuid=prop["uuid"]))
    assert got == {"ok": True, "property": prop}


async def test_create_with_departments_and_update(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.editor.personal_v3
    prop = ok(
        await rpc(
            client,
            "property.create",
            key,
            name="Acme",
            website="https://acme.example",
            departments=["Support", "Sales", "sales"],
            widget={"color": "#ff0000"},
        )
    )["property"]
    assert [d["name"] for d in prop["departments"]] == ["Sales", "Support"]
    assert prop["website"] == "https://acme.example"
    assert prop["widget"] == {"color": "#ff0000"}
    support = next(d for d in prop["departments"] if d["name"] == "Support")

    updated = ok(
        await rpc(
            client,
            "property.update",
            key,
            uuid=prop["uuid"],
            name="Acme Shop",
            departments=["support", "Billing"],
        )
    )["property"]
    assert updated["name"] == "Acme Shop"
    assert updated["website"] == "https://acme.example"  # not given: unchanged
    assert [d["name"] for d in updated["departments"]] == ["Billing", "support"]
    kept = next(d for d in updated["departments"] if d["name"] == "support")
    assert kept["uuid"] == support["uuid"]  # kept by name: same department
    assert updated["modified_on"] >= prop["modified_on"]

    cleared = ok(
        await rpc(client, "property.update", key, uuid=prop["uuid"], website="", departments=[])
    )["property"]
    assert cleared["website"] is None
    assert cleared["departments"] == []
    assert cleared["name"] == "Acme Shop"


async def test_list_pages_newest_first(client: httpx.AsyncClient, world: World) -> None:
    uuids = [(await create(client, world.a, name=f"P{i}"))["uuid"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        args: dict[str, Any] = {"limit": 2}
        if cursor:
            args["cursor"] = cursor
        body = ok(await rpc(client, "property.list", world.a.viewer.personal_v3, **args))
        assert set(body) == {"ok", "properties", "next"}
        seen += [p["uuid"] for p in body["properties"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == list(reversed(uuids))
    first = ok(await rpc(client, "property.list", world.a.admin.personal_v3))["properties"][0]
    assert first["member_count"] == 1
    assert "departments" in first
    body = failed(
        await rpc(client, "property.list", world.a.admin.personal_v3, cursor="nope"),
        400,
        "invalid_args",
    )
    assert "cursor" in body["args"]


async def test_invalid_args(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.admin.personal_v3
    body = failed(await rpc(client, "property.create", key), 400, "invalid_args")
    assert list(body["args"]) == ["name"]
    body = failed(await rpc(client, "property.create", key, name="   "), 400, "invalid_args")
    assert body["args"]["name"] == ["This field may not be blank."]
    body = failed(await rpc(client, "property.create", key, name="x" * 65), 400, "invalid_args")
    assert "name" in body["args"]
    body = failed(
        await rpc(client, "property.create", key, name="A", departments=[""]),
        400,
        "invalid_args",
    )
    assert any(k.startswith("departments") for k in body["args"])
    body = failed(
        await rpc(client, "property.create", key, name="A", colour="red"), 400, "invalid_args"
    )
    assert "colour" in body["args"]
    big = {"text": "x" * 20_000}
    body = failed(
        await rpc(client, "property.create", key, name="A", widget=big), 400, "invalid_args"
    )
    assert "widget" in body["args"]
    body = failed(await rpc(client, "property.update", key, name="A"), 400, "invalid_args")
    assert "uuid" in body["args"]
    body = failed(await rpc(client, "property.get", key), 400, "invalid_args")
    assert "uuid" in body["args"]


async def test_not_authed_and_forbidden(client: httpx.AsyncClient, world: World) -> None:
    failed(await rpc(client, "property.list"), 401, "not_authed")
    failed(await rpc(client, "property.create", name="A"), 401, "not_authed")
    body = failed(
        await rpc(client, "property.create", world.a.viewer.personal_v3, name="A"), 403, "forbidden"
    )
    assert "properties:write" in body["message"]
    prop = await create(client, world.a)
    failed(
        await rpc(
            client, "property.update", world.a.viewer.personal_v3, uuid=prop["uuid"], name="B"
        ),
        403,
        "forbidden",
    )
    # the viewer still reads
    ok(await rpc(client, "property.get", world.a.viewer.personal_v3, uuid=prop["uuid"]))


async def test_unknown_and_other_workspace_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    theirs = await create(client, world.b, name="Beta's")
    mine = await create(client, world.a, name="Alpha's")
    key = world.a.admin.personal_v3
    for uuid in (theirs["uuid"], MISSING, "not-a-uuid"):
        body = failed(await rpc(client, "property.get", key, uuid=uuid), 404, "not_found")
        assert body["message"] == "No property with this uuid."
        failed(await rpc(client, "property.update", key, uuid=uuid, name="X"), 404, "not_found")
    listed = ok(await rpc(client, "property.list", key))["properties"]
    assert [p["uuid"] for p in listed] == [mine["uuid"]]
    # B's property is unchanged
    again = ok(await rpc(client, "property.get", world.b.admin.personal_v3, uuid=theirs["uuid"]))
    assert again["property"]["name"] == "Beta's"
