"""Contact lists: cached field definitions follow field writes; URNs and groups rendered in
SQL match the Python rendering of single writes."""

from __future__ import annotations

import httpx

from tests.conftest import World, auth


async def test_new_and_changed_fields_show_up_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = auth(world.a.company)
    created = await client.post("/api/v2/contacts.json", json={"name": "Ann"}, headers=headers)
    assert created.status_code == 201
    first = (await client.get("/api/v2/contacts.json", headers=headers)).json()
    assert first["results"][0]["fields"] == {}  # cached now

    field = await client.post(
        "/api/v2/fields.json", json={"name": "Age", "type": "number"}, headers=headers
    )
    assert field.status_code == 201
    await client.post(
        "/api/v2/contacts.json?uuid=" + created.json()["uuid"],
        json={"fields": {"age": "41"}},
        headers=headers,
    )
    listed = (await client.get("/api/v2/contacts.json", headers=headers)).json()
    assert listed["results"][0]["fields"] == {"age": "41"}

    # a type change is seen too: "41" is not a datetime, so it renders null
    changed = await client.post(
        "/api/v2/fields.json?key=age", json={"name": "Age", "type": "datetime"}, headers=headers
    )
    assert changed.status_code == 200
    listed = (await client.get("/api/v2/contacts.json", headers=headers)).json()
    assert listed["results"][0]["fields"] == {"age": None}


async def test_list_and_write_render_urns_alike(client: httpx.AsyncClient, world: World) -> None:
    """List pages build URNs and groups in SQL; single writes in Python: the same wire form."""
    headers = auth(world.a.company)
    group = await client.post("/api/v2/groups.json", json={"name": "VIP"}, headers=headers)
    body = {"urns": ["ext:a%b", "tel:+250788123123"], "groups": [group.json()["uuid"]]}
    created = await client.post("/api/v2/contacts.json", json=body, headers=headers)
    assert created.status_code == 201
    listed = (await client.get("/api/v2/contacts.json", headers=headers)).json()["results"][0]
    assert listed["urns"] == created.json()["urns"] == ["ext:a%25b", "tel:+250788123123"]
    assert (
        listed["groups"]
        == created.json()["groups"]
        == [{"uuid": group.json()["uuid"], "name": "VIP"}]
    )
    expanded = await client.get("/api/v2/contacts.json?expand_urns=true", headers=headers)
    one = await client.get(
        f"/api/v2/contacts.json?uuid={created.json()['uuid']}&expand_urns=true", headers=headers
    )
    assert expanded.json()["results"][0]["urns"] == one.json()["results"][0]["urns"]
    assert {u["scheme"] for u in expanded.json()["results"][0]["urns"]} == {"ext", "tel"}
