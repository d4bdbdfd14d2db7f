"""Contact lists cache the field definitions; a field write is seen by the next list."""

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
