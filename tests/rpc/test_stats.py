"""``stats.chats`` against a hand computation: 240 chats from a seeded generator across 3
agents, 4 tags, 2 departments (and none), 2 properties and 7 days; every field compared for
several filter and grouping combinations; arguments, scopes and isolation."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import Chat, Contact, Department, Property, User, Visitor, chat_tags
from tests.conftest import Tenant, World
from tests.rpc.conftest import failed, ok, rpc

TAGS = ("billing", "bug", "sales", "vip")
BASE = datetime(2026, 11, 2, tzinfo=UTC)
N = 240


@dataclass
class Row:
    id: int
    property: str
    department: str | None
    agent: str | None
    tags: list[str]
    started: datetime
    first_response: datetime | None
    ended: datetime | None
    missed: bool
    rating: int | None


@dataclass
class Fixture:
    rows: list[Row] = field(default_factory=list)
    properties: list[Property] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)


async def build(session: AsyncSession, tenant: Tenant, seed: int, count: int) -> Fixture:
    rng = random.Random(seed)
    fx = Fixture()
    for name in ("Shop", "Blog"):
        prop = Property(workspace_id=tenant.id, name=name, widget={})
        session.add(prop)
        await session.flush()
        fx.properties.append(prop)
    for name in ("Sales", "Support"):
        dept = Department(property_id=fx.properties[0].id, name=name)
        session.add(dept)
        fx.departments.append(dept)
    contact = Contact(workspace_id=tenant.id, name="Visitor", fields={})
    session.add(contact)
    await session.flush()
    visitors = []
    for prop in fx.properties:
        visitor = Visitor(workspace_id=tenant.id, property_id=prop.id, contact_id=contact.id)
        session.add(visitor)
        visitors.append(visitor)
    await session.flush()
    emails = [tenant.admin.email, tenant.editor.email, tenant.viewer.email]
    users = {
        u.email: u
        for u in (await session.execute(select(User).where(User.email.in_(emails)))).scalars()
    }
    fx.agents = emails
    tag_rows = []
    for _ in range(count):
        p = rng.randrange(2)
        dept = rng.choice([*fx.departments, None]) if p == 0 else None
        agent = rng.choice([*emails, None])
        started = BASE + timedelta(
            days=rng.randrange(7), seconds=rng.randrange(86_400), microseconds=rng.randrange(10**6)
        )
        answered = agent is not None and rng.random() < 0.85
        first = (
            started + timedelta(seconds=rng.randrange(1, 900), microseconds=rng.randrange(10**6))
            if answered
            else None
        )
        ended = (
            (first or started) + timedelta(seconds=rng.randrange(30, 3_600))
            if rng.random() < 0.8
            else None
        )
        missed = ended is not None and first is None
        rating = rng.choice([None, 1, 2, 3, 4, 5]) if ended is not None else None
        tags = sorted(rng.sample(TAGS, rng.randrange(3)))
        status = "ended" if ended else ("active" if first else "waiting")
        chat = Chat(
            workspace_id=tenant.id,
            property_id=fx.properties[p].id,
            visitor_id=visitors[p].id,
            department_id=dept.id if dept else None,
            agent_id=users[agent].id if agent else None,
            status=status,
            rating=rating,
            missed=missed,
            visitor_token_hash="0" * 64,
            started_on=started,
            first_response_on=first,
            ended_on=ended,
        )
        session.add(chat)
        await session.flush()
        tag_rows += [{"chat_id": chat.id, "name": t} for t in tags]
        fx.rows.append(
            Row(
                chat.id,
                fx.properties[p].uuid,
                dept.uuid if dept else None,
                agent,
                tags,
                started,
                first,
                ended,
                missed,
                rating,
            )
        )
    if tag_rows:
        await session.execute(insert(chat_tags), tag_rows)
    await session.commit()
    return fx


# -- the hand computation ----------------------------------------------------------------------


def mean(values: list[float]) -> float | None:
    if not values:
        return None
    return sum(values) / len(values)


def expected(rows: list[Row]) -> dict[str, Any]:
    durations = [(r.ended - r.started).total_seconds() for r in rows if r.ended]
    responses = [(r.first_response - r.started).total_seconds() for r in rows if r.first_response]
    ratings = [r.rating for r in rows if r.rating is not None]
    stars = {str(s): len([r for r in ratings if r == s]) for s in (1, 2, 3, 4, 5)}
    return {
        "total": len(rows),
        "missed": len([r for r in rows if r.missed]),
        "average_duration_seconds": mean(durations),
        "average_first_response_seconds": mean(responses),
        "ratings": {"count": len(ratings), "average": mean([float(r) for r in ratings]), **stars},
    }


def grouped(rows: list[Row], by: str) -> list[dict[str, Any]]:
    keys: dict[str | None, list[Row]] = {}
    for r in rows:
        if by == "day":
            names: list[str | None] = [r.started.date().isoformat()]
        elif by == "agent":
            names = [r.agent]
        else:
            names = list(r.tags)
        for name in names:
            keys.setdefault(name, []).append(r)
    ordered = sorted(k for k in keys if k is not None) + ([None] if None in keys else [])
    return [{"key": k, **expected(keys[k])} for k in ordered]


def same(actual: Any, wanted: Any) -> None:
    """Equal, averages to 3 decimals (the server rounds them)."""
    if isinstance(wanted, dict):
        assert set(actual) == set(wanted)
        for key in wanted:
            same(actual[key], wanted[key])
    elif isinstance(wanted, list):
        assert len(actual) == len(wanted)
        for a, w in zip(actual, wanted, strict=True):
            same(a, w)
    elif isinstance(wanted, float):
        assert actual == pytest.approx(wanted, abs=0.0006)
    else:
        assert actual == wanted


# -- tests -------------------------------------------------------------------------------------


async def test_stats_match_a_hand_computation(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    session.sync_session.expire_on_commit = False
    fx = await build(session, world.a, seed=20261123, count=N)
    await build(session, world.b, seed=7, count=30)  # the other workspace's chats never count
    rows = fx.rows
    assert len(rows) >= 200
    assert {r.started.date() for r in rows} == {(BASE + timedelta(days=d)).date() for d in range(7)}
    assert {r.agent for r in rows} == {*fx.agents, None}
    assert {t for r in rows for t in r.tags} == set(TAGS)
    key = world.a.viewer.personal_v3
    sales, support = (d.uuid for d in fx.departments)
    shop, blog = (p.uuid for p in fx.properties)
    since, until = BASE + timedelta(days=2), BASE + timedelta(days=5, hours=12)

    cases: list[tuple[dict[str, Any], Callable[[Row], bool]]] = [
        ({}, lambda r: True),
        ({"group_by": "day"}, lambda r: True),
        ({"group_by": "agent"}, lambda r: True),
        ({"group_by": "tag"}, lambda r: True),
        ({"agent": fx.agents[1], "group_by": "day"}, lambda r: r.agent == fx.agents[1]),
        (
            {"tag": "vip", "department": sales, "group_by": "agent"},
            lambda r: "vip" in r.tags and r.department == sales,
        ),
        ({"property": blog, "group_by": "tag"}, lambda r: r.property == blog),
        ({"property": shop, "department": support}, lambda r: r.department == support),
        (
            {"since": since.isoformat(), "until": until.isoformat(), "group_by": "tag"},
            lambda r: since <= r.started < until,
        ),
        (
            {"agent": fx.agents[0], "tag": "bug", "since": since.isoformat(), "group_by": "day"},
            lambda r: r.agent == fx.agents[0] and "bug" in r.tags and r.started >= since,
        ),
    ]
    for args, keep in cases:
        selected = [r for r in rows if keep(r)]
        assert selected, args
        body = ok(await rpc(client, "stats.chats", key, **args))
        assert set(body) == {"ok", "stats", "groups"}
        same(body["stats"], expected(selected))
        by = args.get("group_by")
        same(body["groups"], grouped(selected, by) if by else [])


async def test_stats_empty_args_and_scopes(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    key = world.a.viewer.personal_v3
    body = ok(await rpc(client, "stats.chats", key, group_by="day"))
    assert body == {
        "ok": True,
        "stats": {
            "total": 0,
            "missed": 0,
            "average_duration_seconds": None,
            "average_first_response_seconds": None,
            "ratings": {"count": 0, "average": None, "1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        },
        "groups": [],
    }
    for args, name in (
        ({"group_by": "week"}, "group_by"),
        ({"agent": "nobody@example.com"}, "agent"),
        ({"property": "00000000-0000-4000-8000-000000000000"}, "property"),
        ({"since": "soon"}, "since"),
        ({"unknown": 1}, "unknown"),
    ):
        answer = failed(await rpc(client, "stats.chats", key, **args), 400, "invalid_args")
        assert name in answer["args"]
    failed(await client.post("/api/rpc/stats.chats", json={}), 401, "not_authed")
