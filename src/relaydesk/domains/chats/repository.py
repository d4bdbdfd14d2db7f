"""Queries for chats, their visitors, tags and messages; the only SQL of this domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.models import (
    Chat,
    ChatMessage,
    Contact,
    ContactURN,
    Department,
    Property,
    User,
    Visitor,
    chat_tags,
)


def add(session: AsyncSession, obj: Any) -> None:
    session.add(obj)


async def active_property(session: AsyncSession, uuid: str) -> Property | None:
    """Any workspace's active property with ``uuid`` (the widget's door has no workspace)."""
    stmt = select(Property).where(Property.uuid == uuid, Property.is_active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def department(session: AsyncSession, property_id: int, ref: str) -> Department | None:
    """The property's department with this uuid."""
    stmt = select(Department).where(Department.property_id == property_id, Department.uuid == ref)
    return (await session.execute(stmt)).scalar_one_or_none()


async def workspace_department(
    session: AsyncSession, workspace_id: int, uuid: str
) -> Department | None:
    stmt = (
        select(Department)
        .join(Property, Property.id == Department.property_id)
        .where(Property.workspace_id == workspace_id, Department.uuid == uuid)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def contact_by_urn(session: AsyncSession, workspace_id: int, identity: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(ContactURN, ContactURN.contact_id == Contact.id)
        .where(
            ContactURN.workspace_id == workspace_id,
            ContactURN.identity == identity,
            Contact.is_active.is_(True),
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def urn_taken(session: AsyncSession, workspace_id: int, identity: str) -> ContactURN | None:
    stmt = select(ContactURN).where(
        ContactURN.workspace_id == workspace_id, ContactURN.identity == identity
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def chat_by_uuid(session: AsyncSession, workspace_id: int | None, uuid: str) -> Chat | None:
    stmt = select(Chat).where(Chat.uuid == uuid)
    if workspace_id is not None:
        stmt = stmt.where(Chat.workspace_id == workspace_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def tags_of(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {cid: [] for cid in chat_ids}
    if not chat_ids:
        return found
    rows = await session.execute(
        select(chat_tags.c.chat_id, chat_tags.c.name)
        .where(chat_tags.c.chat_id.in_(chat_ids))
        .order_by(chat_tags.c.chat_id, chat_tags.c.name)
    )
    for chat_id, name in rows.all():
        found[chat_id].append(name)
    return found


async def set_tags(session: AsyncSession, chat_id: int, names: Sequence[str]) -> None:
    await session.execute(delete(chat_tags).where(chat_tags.c.chat_id == chat_id))
    if names:
        await session.execute(
            insert(chat_tags), [{"chat_id": chat_id, "name": name} for name in names]
        )


async def refs(
    session: AsyncSession, chats: Sequence[Chat]
) -> tuple[
    dict[int, tuple[str, str]],
    dict[int, tuple[str, str, str | None]],
    dict[int, tuple[str, str]],
    dict[int, tuple[str, str]],
]:
    """Properties (uuid, name), visitors (uuid, contact uuid, contact name), departments
    (uuid, name) and agents (email, name) of ``chats``, by id."""
    prop_ids = {c.property_id for c in chats}
    visitor_ids = {c.visitor_id for c in chats}
    dept_ids = {c.department_id for c in chats if c.department_id is not None}
    user_ids = {c.agent_id for c in chats if c.agent_id is not None}
    props: dict[int, tuple[str, str]] = {}
    if prop_ids:
        rows = await session.execute(
            select(Property.id, Property.uuid, Property.name).where(Property.id.in_(prop_ids))
        )
        props = {pid: (u, n) for pid, u, n in rows.all()}
    visitors: dict[int, tuple[str, str, str | None]] = {}
    if visitor_ids:
        visitor_rows = await session.execute(
            select(Visitor.id, Visitor.uuid, Contact.uuid, Contact.name)
            .join(Contact, Contact.id == Visitor.contact_id)
            .where(Visitor.id.in_(visitor_ids))
        )
        visitors = {vid: (vu, cu, cn) for vid, vu, cu, cn in visitor_rows.all()}
    depts: dict[int, tuple[str, str]] = {}
    if dept_ids:
        rows = await session.execute(
            select(Department.id, Department.uuid, Department.name).where(
                Department.id.in_(dept_ids)
            )
        )
        depts = {did: (u, n) for did, u, n in rows.all()}
    return props, visitors, depts, await user_refs(session, user_ids)


async def user_refs(
    session: AsyncSession, ids: Sequence[int] | set[int]
) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.email, User.first_name, User.last_name).where(User.id.in_(ids))
    )
    return {
        uid: (email, " ".join(p for p in (first, last) if p)) for uid, email, first, last in rows
    }


async def member_user(session: AsyncSession, workspace_id: int, email: str) -> User | None:
    from relaydesk.models import Membership

    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, User.email == email.strip().lower())
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def filter_chats(
    workspace_id: int,
    *,
    property_id: int | None = None,
    agent_id: int | None = None,
    tag: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """The workspace's chats with these filters (``since`` inclusive, ``until`` exclusive,
    both on ``started_on``)."""
    stmt = select(Chat).where(Chat.workspace_id == workspace_id)
    if property_id is not None:
        stmt = stmt.where(Chat.property_id == property_id)
    if agent_id is not None:
        stmt = stmt.where(Chat.agent_id == agent_id)
    if department_id is not None:
        stmt = stmt.where(Chat.department_id == department_id)
    if status is not None:
        stmt = stmt.where(Chat.status == status)
    if since is not None:
        stmt = stmt.where(Chat.started_on >= since)
    if until is not None:
        stmt = stmt.where(Chat.started_on < until)
    if tag is not None:
        stmt = stmt.where(exists().where(chat_tags.c.chat_id == Chat.id, chat_tags.c.name == tag))
    return stmt


async def all_of(session: AsyncSession, stmt: Select[Any]) -> list[Chat]:
    return list((await session.execute(stmt.order_by(Chat.started_on, Chat.id))).scalars())


async def messages(
    session: AsyncSession, chat_id: int, after_id: int | None = None
) -> list[ChatMessage]:
    stmt = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
    if after_id is not None:
        stmt = stmt.where(ChatMessage.id > after_id)
    return list((await session.execute(stmt.order_by(ChatMessage.id))).scalars())


async def message_by_uuid(session: AsyncSession, chat_id: int, uuid: str) -> ChatMessage | None:
    stmt = select(ChatMessage).where(ChatMessage.chat_id == chat_id, ChatMessage.uuid == uuid)
    return (await session.execute(stmt)).scalar_one_or_none()


async def message_count(session: AsyncSession, chat_id: int) -> int:
    from sqlalchemy import func

    stmt = select(func.count(ChatMessage.id)).where(ChatMessage.chat_id == chat_id)
    return int((await session.execute(stmt)).scalar_one())
