"""Chat statistics (``stats.chats``): counts, missed chats, average duration and first-response
time, ratings, over the chats the filters select, overall and grouped by day, agent or tag.

The chats are selected in SQL (the same filters as ``chat.list``) and summed up here in
Python, one pass: simple, identical on SQLite and PostgreSQL. Definitions:

* ``total``: chats started in the range; ``missed``: those ended without an agent reply;
* ``average_duration_seconds``: over ended chats, ``ended_on - started_on``;
* ``average_first_response_seconds``: over chats with an agent reply,
  ``first_response_on - started_on``;
* ``ratings``: ``count`` of rated chats, their ``average`` and the count per star ``"1"``…``"5"``.

Averages are rounded to 3 decimals, null when there is nothing to average. Groups: ``day``
(the UTC date of ``started_on``), ``agent`` (the agent's email; null: never answered),
``tag`` (a chat counts in each of its tags; untagged chats in no group); sorted by key, null
last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.chats import service as chats
from relaydesk.models import Chat

GROUPS = ("day", "agent", "tag")


def _average(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def summarize(items: Iterable[Chat]) -> dict[str, Any]:
    rows = list(items)
    durations = [
        (c.ended_on - c.started_on).total_seconds() for c in rows if c.ended_on is not None
    ]
    responses = [
        (c.first_response_on - c.started_on).total_seconds()
        for c in rows
        if c.first_response_on is not None
    ]
    ratings = [c.rating for c in rows if c.rating is not None]
    return {
        "total": len(rows),
        "missed": sum(1 for c in rows if c.missed),
        "average_duration_seconds": _average(durations),
        "average_first_response_seconds": _average(responses),
        "ratings": {
            "count": len(ratings),
            "average": _average([float(r) for r in ratings]),
            **{str(star): ratings.count(star) for star in range(1, 6)},
        },
    }


async def chat_stats(
    session: AsyncSession, stmt: Select[Any], group_by: str | None
) -> dict[str, Any]:
    """``{"stats": …, "groups": [{"key": …, …}]}`` over the chats of ``stmt``."""
    rows = await chats.matching(session, stmt)
    result: dict[str, Any] = {"stats": summarize(rows), "groups": []}
    if group_by is None:
        return result
    buckets: dict[str | None, list[Chat]] = {}
    if group_by == "day":
        for c in rows:
            buckets.setdefault(c.started_on.astimezone(UTC).date().isoformat(), []).append(c)
    elif group_by == "agent":
        users = await chats.user_refs(session, {c.agent_id for c in rows if c.agent_id})
        for c in rows:
            key = users[c.agent_id][0] if c.agent_id in users else None
            buckets.setdefault(key, []).append(c)
    else:
        tags = await chats.tags_of(session, rows)
        for c in rows:
            for tag in tags[c.id]:
                buckets.setdefault(tag, []).append(c)
    keys = sorted(buckets, key=lambda k: (k is None, k or ""))
    result["groups"] = [{"key": key, **summarize(buckets[key])} for key in keys]
    return result
