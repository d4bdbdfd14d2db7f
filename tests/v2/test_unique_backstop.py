"""Unique active names are also enforced by the database (both backends), and a conflict the
service could not see (a concurrent create) becomes a 409, never a 500."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.http import drf
from relaydesk.models import ContactGroup, Global, Label
from tests.conftest import World, auth


@pytest.mark.parametrize(
    "make",
    [
        lambda ws, name: ContactGroup(workspace_id=ws, name=name),
        lambda ws, name: Label(workspace_id=ws, name=name),
        lambda ws, name: Global(workspace_id=ws, key=name.lower(), name=name),
    ],
)
async def test_database_rejects_a_second_active_name(
    session: AsyncSession, world: World, make: object
) -> None:
    session.add(make(world.a.id, "Customers"))  # type: ignore[operator]
    await session.commit()
    # another workspace, or a deleted row, may have the same name
    session.add(make(world.b.id, "Customers"))  # type: ignore[operator]
    deleted = make(world.a.id, "customers")  # type: ignore[operator]
    deleted.is_active = False
    session.add(deleted)
    await session.commit()
    session.add(make(world.a.id, "CUSTOMERS"))  # type: ignore[operator]
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()


async def test_concurrent_duplicate_is_409(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = auth(world.a.company)
    assert (
        await client.post("/api/v2/labels.json", json={"name": "Spam"}, headers=headers)
    ).status_code == 201
    # simulate the race: the service's own check sees no other label yet
    monkeypatch.setattr(drf, "is_taken", lambda *args, **kwargs: False)
    response = await client.post("/api/v2/labels.json", json={"name": "spam"}, headers=headers)
    assert response.status_code == 409
    assert "retry" in response.json()["detail"]
    # the transaction was rolled back: still one label, and the door keeps working
    listed = await client.get("/api/v2/labels.json", headers=headers)
    assert [label["name"] for label in listed.json()["results"]] == ["Spam"]
