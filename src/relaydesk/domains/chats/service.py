"""Live chats (docs/helpdesk.md#chats). Never commits: the door does, once, on success.

* The widget (no API key): :func:`start` makes the visitor (and its contact: found by the
  email's ``mailto:`` URN, else created), the chat and its first message, and returns the
  visitor's secret (``rdv_…``; only its SHA-256 is stored). :func:`visitor_chat` checks it.
* Agents (RPC): :func:`reply` (the first reply sets ``first_response_on``, assigns the
  replying user if the chat has no agent and makes it ``active``), :func:`end`,
  :func:`set_tags`.
* :func:`start` queues one ``chat.started`` and :func:`end` one ``chat.ended`` (``data``: the
  chat in its wire shape, :func:`render_many`) in the caller's transaction.

Chats are workspace-wide like tickets: any credential of the workspace with ``chats:*`` sees
and answers them all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.chats import repository
from relaydesk.domains.chats.schemas import MAX_MESSAGES, MAX_TAGS, ChatOut, MessageOut
from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    Chat,
    ChatMessage,
    ChatStatus,
    Contact,
    ContactStatus,
    ContactURN,
    Department,
    Property,
    SenderKind,
    User,
    Visitor,
)
from relaydesk.platform.webhooks import events

TOKEN_PREFIX = "rdv_"  # noqa: S105 (a prefix, not a secret)
NOT_FOUND = "No chat with this uuid."
NO_PROPERTY = "No property with this uuid."
BAD_TOKEN = "Missing or wrong X-Visitor-Token for this chat."  # noqa: S105
ENDED = "The chat has ended."
TOO_MANY = f"The chat has reached {MAX_MESSAGES} messages."


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid(key: str, message: str) -> InvalidArgs:
    return InvalidArgs(message, errors={key: [message]})


# -- rendering ---------------------------------------------------------------------------------


def _user(refs: dict[int, tuple[str, str]], user_id: int | None) -> dict[str, str] | None:
    if user_id is None or user_id not in refs:
        return None
    email, name = refs[user_id]
    return {"email": email, "name": name}


async def render_many(session: AsyncSession, chats: Sequence[Chat]) -> list[dict[str, Any]]:
    """Chats in their wire shape (:class:`ChatOut`; five queries for any number)."""
    props, visitors, depts, users = await repository.refs(session, chats)
    tags = await repository.tags_of(session, [c.id for c in chats])
    wires = []
    for chat in chats:
        visitor_uuid, contact_uuid, contact_name = visitors[chat.visitor_id]
        prop_uuid, prop_name = props[chat.property_id]
        dept = depts.get(chat.department_id) if chat.department_id is not None else None
        wires.append(
            {
                "uuid": chat.uuid,
                "property": {"uuid": prop_uuid, "name": prop_name},
                "visitor": visitor_uuid,
                "contact": {"uuid": contact_uuid, "name": contact_name},
                "department": {"uuid": dept[0], "name": dept[1]} if dept else None,
                "agent": _user(users, chat.agent_id),
                "status": chat.status,
                "tags": tags[chat.id],
                "rating": chat.rating,
                "missed": chat.missed,
                "started_on": format_datetime(chat.started_on),
                "first_response_on": format_datetime(chat.first_response_on),
                "ended_on": format_datetime(chat.ended_on),
            }
        )
    return wires


async def render_one(session: AsyncSession, chat: Chat) -> ChatOut:
    [wire] = await render_many(session, [chat])
    return ChatOut.model_validate(wire)


async def render_messages(
    session: AsyncSession, messages: Sequence[ChatMessage]
) -> list[MessageOut]:
    users = await repository.user_refs(
        session, {m.agent_id for m in messages if m.agent_id is not None}
    )
    return [
        MessageOut(
            uuid=m.uuid,
            sender=m.sender,
            agent=_user(users, m.agent_id),
            text=m.text,
            created_on=format_datetime(m.created_on) or "",
        )
        for m in messages
    ]


async def messages_of(
    session: AsyncSession, chat: Chat, after: str | None = None
) -> list[ChatMessage]:
    """The chat's messages, oldest first; with ``after`` (a message uuid of the chat) only
    the later ones (polling)."""
    after_id = None
    if after is not None:
        found = await repository.message_by_uuid(session, chat.id, canonical_uuid(after) or "")
        if found is None:
            raise _invalid("after", f"No such message: {after}")
        after_id = found.id
    return await repository.messages(session, chat.id, after_id)


async def _emit(session: AsyncSession, chat: Chat, event_type: str) -> None:
    async def render() -> list[dict[str, Any]]:
        return await render_many(session, [chat])

    await events.emit(session, chat.workspace_id, event_type, render)


# -- lookups -----------------------------------------------------------------------------------


async def get(session: AsyncSession, principal: Principal, uuid: str) -> Chat:
    """The workspace's chat with ``uuid`` (any spelling), or ``not_found``."""
    value = canonical_uuid(uuid)
    chat = await repository.chat_by_uuid(session, principal.workspace_id, value) if value else None
    if chat is None:
        raise NotFound(NOT_FOUND)
    return chat


async def widget_property(session: AsyncSession, uuid: str) -> Property:
    value = canonical_uuid(uuid)
    prop = await repository.active_property(session, value) if value else None
    if prop is None:
        raise NotFound(NO_PROPERTY)
    return prop


async def visitor_chat(
    session: AsyncSession, property_uuid: str, chat_uuid: str, token: str | None
) -> Chat:
    """The property's chat if ``token`` is its visitor's secret: an unknown property or chat
    is ``not_found``, a wrong or missing token ``forbidden``."""
    prop = await widget_property(session, property_uuid)
    value = canonical_uuid(chat_uuid)
    chat = await repository.chat_by_uuid(session, prop.workspace_id, value) if value else None
    if chat is None or chat.property_id != prop.id:
        raise NotFound(NOT_FOUND)
    if not token or not hmac.compare_digest(hash_token(token), chat.visitor_token_hash):
        raise Forbidden(BAD_TOKEN)
    return chat


async def find_department(
    session: AsyncSession, principal: Principal, uuid: str
) -> Department | None:
    value = canonical_uuid(uuid)
    if value is None:
        return None
    return await repository.workspace_department(session, principal.workspace_id, value)


async def find_member(session: AsyncSession, principal: Principal, email: str) -> User | None:
    return await repository.member_user(session, principal.workspace_id, email)


def filter_query(
    principal: Principal,
    *,
    prop: Property | None = None,
    agent: User | None = None,
    tag: str | None = None,
    department: Department | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    return repository.filter_chats(
        principal.workspace_id,
        property_id=prop.id if prop is not None else None,
        agent_id=agent.id if agent is not None else None,
        tag=tag,
        department_id=department.id if department is not None else None,
        status=status,
        since=since,
        until=until,
    )


async def matching(session: AsyncSession, stmt: Select[Any]) -> list[Chat]:
    """Every chat of ``stmt``, oldest first (statistics)."""
    return await repository.all_of(session, stmt)


async def tags_of(session: AsyncSession, chats: Sequence[Chat]) -> dict[int, list[str]]:
    return await repository.tags_of(session, [c.id for c in chats])


async def user_refs(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, str]]:
    return await repository.user_refs(session, ids)


# -- the visitor's side ------------------------------------------------------------------------


async def _contact(
    session: AsyncSession, workspace_id: int, name: str | None, email: str | None
) -> Contact:
    identity = f"mailto:{email.lower()}" if email else None
    if identity is not None:
        found = await repository.contact_by_urn(session, workspace_id, identity)
        if found is not None:
            if name and not found.name:
                found.name = name
                found.modified_on = utcnow()
            return found
    now = utcnow()
    contact = Contact(
        workspace_id=workspace_id,
        owner_id=None,
        name=name or None,
        status=ContactStatus.ACTIVE.value,
        fields={},
        is_active=True,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, contact)
    await session.flush()
    if identity is not None and email is not None:
        urn = await repository.urn_taken(session, workspace_id, identity)
        if urn is None:
            repository.add(
                session,
                ContactURN(
                    workspace_id=workspace_id,
                    contact_id=contact.id,
                    scheme="mailto",
                    path=email.lower(),
                    identity=identity,
                    priority=1000,
                ),
            )
        else:  # a detached URN: attach it
            urn.contact_id = contact.id
        await session.flush()
    return contact


async def start(
    session: AsyncSession,
    prop: Property,
    *,
    name: str | None,
    email: str | None,
    message: str,
    department: str | None,
) -> tuple[Chat, str]:
    """Start a chat on ``prop``'s widget; returns it and the visitor's secret. Queues one
    ``chat.started``."""
    if email is not None and (not email or "@" not in email or " " in email):
        raise _invalid("email", "Enter a valid email address.")
    dept = None
    if department is not None:
        value = canonical_uuid(department)
        dept = await repository.department(session, prop.id, value) if value else None
        if dept is None:
            raise _invalid("department", f"No such object: {department}")
    contact = await _contact(session, prop.workspace_id, name or None, email or None)
    now = utcnow()
    visitor = Visitor(
        workspace_id=prop.workspace_id, property_id=prop.id, contact_id=contact.id, created_on=now
    )
    repository.add(session, visitor)
    await session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    chat = Chat(
        workspace_id=prop.workspace_id,
        property_id=prop.id,
        visitor_id=visitor.id,
        department_id=dept.id if dept is not None else None,
        agent_id=None,
        status=ChatStatus.WAITING.value,
        rating=None,
        missed=False,
        visitor_token_hash=hash_token(token),
        started_on=now,
        first_response_on=None,
        ended_on=None,
    )
    repository.add(session, chat)
    await session.flush()
    repository.add(
        session,
        ChatMessage(chat_id=chat.id, sender=SenderKind.VISITOR.value, text=message, created_on=now),
    )
    await session.flush()
    await _emit(session, chat, "chat.started")
    return chat, token


async def _add_message(
    session: AsyncSession, chat: Chat, sender: SenderKind, text: str, agent_id: int | None
) -> ChatMessage:
    if chat.status == ChatStatus.ENDED.value:
        raise _invalid("uuid", ENDED)
    if await repository.message_count(session, chat.id) >= MAX_MESSAGES:
        raise _invalid("text", TOO_MANY)
    message = ChatMessage(
        chat_id=chat.id, sender=sender.value, agent_id=agent_id, text=text, created_on=utcnow()
    )
    repository.add(session, message)
    await session.flush()
    return message


async def visitor_message(session: AsyncSession, chat: Chat, text: str) -> ChatMessage:
    return await _add_message(session, chat, SenderKind.VISITOR, text, None)


# -- the agents' side --------------------------------------------------------------------------


async def reply(session: AsyncSession, principal: Principal, chat: Chat, text: str) -> ChatMessage:
    """An agent's message. The first one sets ``first_response_on`` and makes the chat
    ``active``; a chat without an agent gets the replying user."""
    user_id = principal.user_id or None
    message = await _add_message(session, chat, SenderKind.AGENT, text, user_id)
    if chat.first_response_on is None:
        chat.first_response_on = message.created_on
    if chat.agent_id is None and user_id is not None:
        chat.agent_id = user_id
    chat.status = ChatStatus.ACTIVE.value
    await session.flush()
    return message


async def end(session: AsyncSession, chat: Chat, rating: int | None = None) -> Chat:
    """End the chat (``missed`` when no agent replied), with the visitor's rating if given.
    Queues one ``chat.ended``; a chat that has ended already is ``invalid_args``."""
    if chat.status == ChatStatus.ENDED.value:
        raise _invalid("uuid", ENDED)
    now = utcnow()
    chat.status = ChatStatus.ENDED.value
    chat.ended_on = now
    chat.missed = chat.first_response_on is None
    if rating is not None:
        chat.rating = rating
    await session.flush()
    await _emit(session, chat, "chat.ended")
    return chat


async def set_tags(session: AsyncSession, chat: Chat, tags: Sequence[str]) -> list[str]:
    """Make the chat's tags exactly ``tags`` (deduplicated ignoring case, lowercased)."""
    wanted = sorted({t.strip().lower() for t in tags if t.strip()})
    if len(wanted) > MAX_TAGS:
        raise _invalid("tags", f"At most {MAX_TAGS} tags.")
    await repository.set_tags(session, chat.id, wanted)
    await session.flush()
    return wanted
