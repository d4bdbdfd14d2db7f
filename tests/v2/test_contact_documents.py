"""List pages are built by the database (``contacts.repository.as_documents``); single writes
are rendered in Python (``contacts.service.render_many``). Both must give the same JSON for
every contact, whatever is stored: this pins the SQL renderer to the Python one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.domains.contacts import service
from relaydesk.infra.auth.principal import Principal
from relaydesk.models import (
    Contact,
    ContactField,
    ContactGroup,
    ContactStatus,
    ContactURN,
    User,
    Workspace,
    contact_group_members,
)
from tests.conftest import World, auth

URL = "/api/v2/contacts.json"
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)

TEXTS: list[Any] = [
    "plain",
    "",
    'quote " and \\ backslash',
    "tab\tnew\nline \x01 control",
    "unicode é ñ 漢字 😀",
    "</script>",
    None,
    40,  # not written by the API (always text) but must still render as Python does
    12.5,
    True,
    ["a", 1],
    {"nested": "object"},
]
NUMBERS: list[Any] = [
    "0",
    "7",
    "-7",
    "40",
    "1234567890123456789",  # 19 digits: the SQL fast path
    "12345678901234567890",  # 20 digits: Python decides
    "-1234567890123456789",
    "007",
    "1.5",
    "1.50",
    "-0",
    "1e3",
    " 12 ",
    "abc",
    "",
    "-",
    "1-2",
    "١٢",  # Arabic-Indic digits
    None,
    40,
    1.25,
]
DATETIMES: list[Any] = [
    "2017-11-11T13:12:13+02:00",
    "2017-11-11T11:12:13+00:00",
    "2017-11-11 11:12:13Z",
    "2017-06-11T11:12:13.123456-05:00",
    "not a date",
    "31-12-2017",
    "",
    None,
]


def _random_numbers(count: int) -> list[str]:
    rng = random.Random(1234)
    alphabet = "0123456789-.e "
    found = []
    for _ in range(count):
        found.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 22))))
        found.append(str(rng.randint(-(10**21), 10**21)))
    return found


async def _seed(session: AsyncSession, world: World) -> list[int]:
    ws = world.a.id
    owner = await session.scalar(select(User.id).where(User.email == world.a.admin.email))
    await session.execute(
        update(Workspace).where(Workspace.id == ws).values(timezone="Asia/Kolkata")
    )
    for key, kind in (
        ("words", "text"),
        ("amount", "number"),
        ("when", "datetime"),
        ("st", "state"),
    ):
        session.add(ContactField(workspace_id=ws, key=key, name=key.title(), value_type=kind))
    session.add(
        ContactField(workspace_id=ws, key="gone", name="Gone", value_type="text", is_active=False)
    )
    groups = [
        ContactGroup(
            workspace_id=ws,
            uuid=f"00000000-0000-4000-8000-00000000000{i}",
            name=f'G{i} "quoted"',
            status="ready",
        )
        for i in range(3)
    ]
    session.add_all(groups)
    await session.flush()
    numbers = NUMBERS + _random_numbers(60)
    # one value per contact (so one value needing Python doesn't hide another's SQL rendering),
    # then a few contacts with every field set
    stored_values: list[dict[str, Any] | None] = [
        {key: value, "gone": "hidden"}
        for key, pool in (("words", TEXTS), ("amount", numbers), ("when", DATETIMES))
        for value in pool
    ]
    stored_values += [
        {"words": TEXTS[i % len(TEXTS)], "amount": numbers[i], "when": DATETIMES[i % 8], "st": "K"}
        for i in range(10)
    ]
    stored_values += [None, {}, {"st": "Kigali"}]
    statuses = list(ContactStatus)
    contacts = []
    for i, stored in enumerate(stored_values):
        contact = Contact(
            workspace_id=ws,
            owner_id=owner,
            name=None if i % 9 == 0 else f'Contact {i} "q" é',
            language=None if i % 4 else "eng",
            status=statuses[i % len(statuses)],
            fields=stored,
            created_on=T0 + timedelta(seconds=i),
            modified_on=T0 + timedelta(seconds=i, microseconds=0 if i % 3 else 7),
            last_seen_on=None if i % 2 else T0 - timedelta(days=i),
        )
        contacts.append(contact)
    session.add_all(contacts)
    await session.flush()
    for i, contact in enumerate(contacts):
        for j in range(i % 3):
            session.add(
                ContactURN(
                    workspace_id=ws,
                    contact_id=contact.id,
                    scheme="ext",
                    path=f"id{i}-{j}#?%",
                    identity=f"ext:id{i}-{j}%23%3F%25",
                    priority=50 - j,
                )
            )
        for group in groups[: i % 4]:
            await session.execute(
                contact_group_members.insert().values(group_id=group.id, contact_id=contact.id)
            )
    await session.commit()
    return [c.id for c in contacts]


async def _python_render(
    session: AsyncSession, world: World, ids: list[int], *, expand_urns: bool = False
) -> dict[str, Any]:
    principal = Principal.operator(world.a.id, world.a.uuid, "standard")
    rows = [await session.get(Contact, cid) for cid in ids]
    contacts = [c for c in rows if c is not None]
    locale = service.Locale("RW", "Asia/Kolkata", "day_first")
    wires = await service.render_many(session, principal, locale, contacts, expand_urns=expand_urns)
    return {w["uuid"]: w for w in wires}


async def _all_pages(client: httpx.AsyncClient, token: str, query: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    url: str | None = URL + query
    while url:
        response = await client.get(url, headers=auth(token))
        assert response.status_code == 200, response.text
        body = response.json()
        results += body["results"]
        url = body["next"]
    return results


async def test_database_documents_match_the_python_renderer(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    ids = await _seed(session, world)
    for expand in (False, True):
        listed = await _all_pages(client, world.a.company, "?expand_urns=true" if expand else "")
        session.expunge_all()
        expected = await _python_render(session, world, ids, expand_urns=expand)
        assert len(listed) == len(ids)
        for wire in listed:
            assert wire == expected[wire["uuid"]]
            assert list(wire) == list(expected[wire["uuid"]])  # RapidPro's key order too


async def test_deleted_documents_match_the_python_renderer(
    app: RelaydeskApp, client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    ids = await _seed(session, world)
    await session.execute(update(Contact).where(Contact.id.in_(ids[:40])).values(is_active=False))
    await session.commit()
    listed = await _all_pages(client, world.a.company, "?deleted=true")
    session.expunge_all()
    expected = await _python_render(session, world, ids[:40])
    assert len(listed) == 40
    for wire in listed:
        assert wire == expected[wire["uuid"]]
