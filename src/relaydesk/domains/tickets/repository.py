"""Tickets, topics and ticket events: the only place that builds SQL for them. Both are
workspace-wide (no owner): every query is limited to the principal's workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import scoped
from relaydesk.models import Contact, Membership, Role, Ticket, TicketEvent, Topic, User

# RapidPro gives the ticket assignee permission to administrators, editors and agents
ASSIGNABLE_ROLES = (Role.ADMINISTRATOR.value, Role.EDITOR.value, Role.AGENT.value)


# -- tickets -----------------------------------------------------------------------------------


def list_tickets(
    principal: Principal,
    *,
    contact_uuid: str | None,
    uuid: str | None,
    before: datetime | None,
    after: datetime | None,
) -> Select[Any]:
    stmt = scoped(select(Ticket), Ticket, principal)
    if contact_uuid is not None:
        if drf.storable(contact_uuid):
            contact_ids = select(Contact.id).where(
                Contact.workspace_id == principal.workspace_id,
                Contact.is_active.is_(True),
                Contact.uuid == contact_uuid,
            )
            stmt = stmt.where(Ticket.contact_id.in_(contact_ids))
        else:
            stmt = stmt.where(false())
    if uuid is not None:
        stmt = stmt.where(Ticket.uuid == uuid)
    if before is not None:
        stmt = stmt.where(Ticket.modified_on <= before)
    if after is not None:
        stmt = stmt.where(Ticket.modified_on >= after)
    return stmt


def filter_tickets(
    principal: Principal,
    *,
    status: str | None = None,
    assignee_id: int | None = None,
    topic_id: int | None = None,
    contact_id: int | None = None,
    opened_since: datetime | None = None,
    opened_until: datetime | None = None,
) -> Select[Any]:
    """The workspace's tickets, filtered (the RPC door's ``ticket.list``): ``opened_since``
    is inclusive, ``opened_until`` exclusive."""
    stmt = scoped(select(Ticket), Ticket, principal)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee_id)
    if topic_id is not None:
        stmt = stmt.where(Ticket.topic_id == topic_id)
    if contact_id is not None:
        stmt = stmt.where(Ticket.contact_id == contact_id)
    if opened_since is not None:
        stmt = stmt.where(Ticket.opened_on >= opened_since)
    if opened_until is not None:
        stmt = stmt.where(Ticket.opened_on < opened_until)
    return stmt


async def active_contact(session: AsyncSession, workspace_id: int, uuid: str) -> Contact | None:
    result = await session.execute(
        select(Contact).where(
            Contact.workspace_id == workspace_id,
            Contact.is_active.is_(True),
            Contact.uuid == uuid,
        )
    )
    return result.scalars().first()


async def tickets_by_uuid(
    session: AsyncSession, workspace_id: int, uuids: Iterable[str]
) -> dict[str, Ticket]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    result = await session.execute(
        select(Ticket).where(Ticket.workspace_id == workspace_id, Ticket.uuid.in_(wanted))
    )
    return {ticket.uuid: ticket for ticket in result.scalars()}


async def contact_refs(session: AsyncSession, ids: Iterable[int]) -> dict[int, tuple[str, Any]]:
    """contact id → (uuid, name)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Contact.id, Contact.uuid, Contact.name).where(Contact.id.in_(wanted))
    )
    return {row.id: (row.uuid, row.name) for row in rows}


async def topic_refs(session: AsyncSession, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """topic id → (uuid, name)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Topic.id, Topic.uuid, Topic.name).where(Topic.id.in_(wanted))
    )
    return {row.id: (row.uuid, row.name) for row in rows}


async def user_refs(session: AsyncSession, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """user id → (email, full name)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.id, User.email, User.first_name, User.last_name).where(User.id.in_(wanted))
    )
    return {row.id: (row.email, f"{row.first_name} {row.last_name}".strip()) for row in rows}


async def assignable_user(session: AsyncSession, workspace_id: int, email: str) -> User | None:
    """The workspace's user with ``email`` (ignoring case) who may be assigned tickets."""
    if not drf.storable(email):
        return None
    result = await session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.role.in_(ASSIGNABLE_ROLES),
            User.deleted_on.is_(None),
            func.lower(User.email) == email.lower(),
        )
    )
    return result.scalars().first()


async def member_user(session: AsyncSession, workspace_id: int, email: str) -> User | None:
    """The workspace's user with ``email`` (ignoring case), whatever their role: tickets
    may still be assigned to a user who has since become a viewer."""
    if not drf.storable(email):
        return None
    result = await session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, func.lower(User.email) == email.lower())
    )
    return result.scalars().first()


async def is_assignable(session: AsyncSession, workspace_id: int, user_id: int) -> bool:
    result = await session.execute(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.user_id == user_id,
            Membership.role.in_(ASSIGNABLE_ROLES),
            User.deleted_on.is_(None),
        )
    )
    return result.first() is not None


def add(session: AsyncSession, obj: Ticket | Topic | TicketEvent) -> None:
    session.add(obj)


def add_all(session: AsyncSession, objs: Sequence[Ticket | Topic | TicketEvent]) -> None:
    session.add_all(objs)


async def events_of(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    result = await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return list(result.scalars())


# -- topics ------------------------------------------------------------------------------------


def list_topics(principal: Principal) -> Select[Any]:
    return scoped(select(Topic), Topic, principal).where(Topic.is_active.is_(True))


async def active_topic(session: AsyncSession, workspace_id: int, uuid: str) -> Topic | None:
    result = await session.execute(
        select(Topic).where(
            Topic.workspace_id == workspace_id, Topic.is_active.is_(True), Topic.uuid == uuid
        )
    )
    return result.scalar_one_or_none()


async def system_topic(session: AsyncSession, workspace_id: int) -> Topic | None:
    result = await session.execute(
        select(Topic)
        .where(
            Topic.workspace_id == workspace_id,
            Topic.is_active.is_(True),
            Topic.is_system.is_(True),
        )
        .order_by(Topic.id)
    )
    return result.scalars().first()


async def topic_names(session: AsyncSession, workspace_id: int) -> list[tuple[int, str]]:
    """(id, name) of every active topic of the workspace, the system one included."""
    rows = await session.execute(
        select(Topic.id, Topic.name).where(
            Topic.workspace_id == workspace_id, Topic.is_active.is_(True)
        )
    )
    return [(row.id, row.name) for row in rows]


async def user_topic_count(session: AsyncSession, workspace_id: int) -> int:
    """Active topics that count towards the limit (the system topic doesn't)."""
    stmt = select(func.count(Topic.id)).where(
        Topic.workspace_id == workspace_id,
        Topic.is_active.is_(True),
        Topic.is_system.is_(False),
    )
    return int((await session.execute(stmt)).scalar_one())


async def ticket_counts(
    session: AsyncSession, topic_ids: Iterable[int]
) -> dict[tuple[int, str], int]:
    """(topic id, status) → number of tickets, for a page of topics (one query)."""
    wanted = list(set(topic_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Ticket.topic_id, Ticket.status, func.count(Ticket.id))
        .where(Ticket.topic_id.in_(wanted))
        .group_by(Ticket.topic_id, Ticket.status)
    )
    return {(topic_id, status): int(n) for topic_id, status, n in rows}
