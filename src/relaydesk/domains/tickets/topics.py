"""Ticket topics: list, create, rename (RapidPro's ``TopicsEndpoint``), and the system topic
every workspace gets when it is created (``General``, ``system: true``; it can't be renamed).

Topics live in the tickets domain: their counts come from tickets, and tickets need topics
(the default one on opening, ``change_topic``), so two packages would import each other.
Agents read topics but can't create or rename them (403, as in RapidPro). Never commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.tickets import repository
from relaydesk.domains.tickets.schemas import MAX_TOPIC_NAME, TopicWrite
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import Role, TicketStatus, Topic

SYSTEM_NAME = "General"
LIMIT = 250  # RapidPro's ORG_LIMIT_DEFAULTS["topics"]; the system topic doesn't count


def new_system_topic(workspace_id: int) -> Topic:
    now = utcnow()
    return Topic(
        workspace_id=workspace_id,
        name=SYSTEM_NAME,
        is_system=True,
        is_active=True,
        created_on=now,
        modified_on=now,
    )


async def create_system_topic(session: AsyncSession, workspace_id: int) -> Topic:
    """The workspace's system topic (called when the workspace is created)."""
    topic = new_system_topic(workspace_id)
    repository.add(session, topic)
    await session.flush()
    return topic


async def system_topic(session: AsyncSession, workspace_id: int) -> Topic:
    """The workspace's system topic; made now if the workspace somehow has none."""
    topic = await repository.system_topic(session, workspace_id)
    return topic if topic is not None else await create_system_topic(session, workspace_id)


async def get(session: AsyncSession, principal: Principal, uuid: str) -> Topic | None:
    """The workspace's active topic with ``uuid`` (any spelling of it), or None."""
    value = canonical_uuid(uuid)
    if value is None:
        return None
    return await repository.active_topic(session, principal.workspace_id, value)


def list_query(principal: Principal) -> Select[Any]:
    return repository.list_topics(principal)


def to_wire(topic: Topic, open_count: int = 0, closed_count: int = 0) -> dict[str, Any]:
    return {
        "uuid": topic.uuid,
        "name": topic.name,
        "counts": {"open": open_count, "closed": closed_count},
        "system": topic.is_system,
        "created_on": format_datetime(topic.created_on),
    }


def renderer(
    session: AsyncSession,
) -> Callable[[Sequence[Topic]], Awaitable[list[dict[str, Any]]]]:
    """Renders a page of topics with their open/closed counts (one query per page)."""

    async def render(topics: Sequence[Topic]) -> list[dict[str, Any]]:
        counts = await repository.ticket_counts(session, [t.id for t in topics])
        return [
            to_wire(
                topic,
                counts.get((topic.id, TicketStatus.OPEN.value), 0),
                counts.get((topic.id, TicketStatus.CLOSED.value), 0),
            )
            for topic in topics
        ]

    return render


def _ensure_editor(principal: Principal) -> None:
    if principal.role is Role.AGENT:
        raise Forbidden(drf.PERMISSION_DENIED)


@dataclass(frozen=True)
class Target:
    """What a POST acts on: an existing topic, or None to create one."""

    instance: Topic | None


async def resolve(session: AsyncSession, principal: Principal, uuid: str | None) -> Target:
    """Before the body is read, as RapidPro: the topic with ``uuid`` (404; 403 for the system
    topic) or, to create, the workspace's limit (409)."""
    _ensure_editor(principal)
    if uuid is not None:
        topic = await get(session, principal, uuid)
        if topic is None:
            raise NotFound("Not found.")
        if topic.is_system:
            raise Forbidden("Cannot modify system object.")
        return Target(topic)
    if await repository.user_topic_count(session, principal.workspace_id) >= LIMIT:
        raise Conflict(drf.limit_reached(LIMIT))
    return Target(None)


@dataclass(frozen=True)
class WriteResult:
    topic: Topic
    created: bool
    open_count: int = 0
    closed_count: int = 0


async def write(
    session: AsyncSession, principal: Principal, target: Target, data: Mapping[str, Any]
) -> WriteResult:
    parsed, errors = drf.validate_partial(TopicWrite, data)
    name = parsed.name
    if name is None and "name" not in errors:
        errors["name"] = [drf.REQUIRED]
    elif name is not None:
        existing = await repository.topic_names(session, principal.workspace_id)
        exclude_id = target.instance.id if target.instance is not None else None
        messages = drf.name_validator(name, MAX_TOPIC_NAME)
        if drf.is_taken(name, existing, exclude_id):
            messages.append(drf.UNIQUE)
        drf.add_error(errors, "name", messages + drf.char_validators(name, MAX_TOPIC_NAME))
    if errors or name is None:
        raise InvalidArgs("Invalid topic.", errors=errors)

    now = utcnow()
    if target.instance is not None:
        topic = target.instance
        topic.name = name
        topic.modified_on = now
        await session.flush()
        counts = await repository.ticket_counts(session, [topic.id])
        return WriteResult(
            topic,
            created=False,
            open_count=counts.get((topic.id, TicketStatus.OPEN.value), 0),
            closed_count=counts.get((topic.id, TicketStatus.CLOSED.value), 0),
        )
    topic = Topic(
        workspace_id=principal.workspace_id,
        name=name,
        is_system=False,
        is_active=True,
        created_by_id=principal.user_id or None,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, topic)
    await session.flush()
    return WriteResult(topic, created=True)


def render_written(result: WriteResult) -> dict[str, Any]:
    return to_wire(result.topic, result.open_count, result.closed_count)
