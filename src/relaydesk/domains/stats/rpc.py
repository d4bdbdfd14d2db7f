"""RPC methods for statistics: ``stats.chats`` (needs ``chats:read``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from relaydesk.domains.chats import service as chats
from relaydesk.domains.chats.rpc import ChatFilters, resolve
from relaydesk.domains.stats import service
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.rpc import Call, Methods

methods = Methods()


class StatsArgs(ChatFilters):
    group_by: Literal["day", "agent", "tag"] | None = Field(
        default=None, description="Also give the figures per day (UTC), agent or tag."
    )


class Ratings(BaseModel):
    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    count: int = Field(description="Rated chats.")
    average: float | None = Field(description="Their average rating; null: none.")
    one: int = Field(alias="1", description="Chats rated 1.")
    two: int = Field(alias="2", description="Chats rated 2.")
    three: int = Field(alias="3", description="Chats rated 3.")
    four: int = Field(alias="4", description="Chats rated 4.")
    five: int = Field(alias="5", description="Chats rated 5.")


class ChatStats(BaseModel):
    total: int = Field(description="Chats started in the range.")
    missed: int = Field(description="Chats ended without any agent reply.")
    average_duration_seconds: float | None = Field(
        description="Average of ended_on - started_on over ended chats; null: none."
    )
    average_first_response_seconds: float | None = Field(
        description="Average of first_response_on - started_on over answered chats."
    )
    ratings: Ratings


class ChatStatsGroup(ChatStats):
    key: str | None = Field(description="The day (YYYY-MM-DD), agent email (null: none) or tag.")


class ChatStatsResult(BaseModel):
    stats: ChatStats
    groups: list[ChatStatsGroup] = Field(description="Per group_by key, sorted; [] without it.")


_STATS: dict[str, Any] = {
    "total": 12,
    "missed": 1,
    "average_duration_seconds": 431.25,
    "average_first_response_seconds": 38.5,
    "ratings": {"count": 4, "average": 4.5, "1": 0, "2": 0, "3": 0, "4": 2, "5": 2},
}


@methods.method(
    "stats.chats",
    scope=scopes.CHATS_READ,
    example_args={"since": "2026-11-01", "until": "2026-12-01", "group_by": "agent"},
    example_result={"stats": _STATS, "groups": [{"key": "bob@example.com", **_STATS}]},
)
async def chat_stats(call: Call, args: StatsArgs) -> ChatStatsResult:
    """Chat statistics: counts, missed chats, average duration and first-response time and
    ratings, optionally grouped by day, agent or tag.

    The filters are `chat.list`'s (property, agent, tag, department; `since` inclusive and
    `until` exclusive on `started_on`). Durations count ended chats only, first responses
    answered chats only; averages are rounded to 3 decimals (null: nothing to average). By
    tag, a chat counts in each of its tags.
    """
    found = await resolve(call, args)
    stmt = chats.filter_query(
        call.principal,
        prop=found.prop,
        agent=found.agent,
        tag=found.tag,
        department=found.department,
        since=args.since,
        until=args.until,
    )
    result = await service.chat_stats(call.session, stmt, args.group_by)
    return ChatStatsResult.model_validate(result)
