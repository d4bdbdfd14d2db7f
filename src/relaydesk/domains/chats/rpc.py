"""RPC methods for live chats: ``chat.list``, ``chat.get``, ``chat.reply``, ``chat.end``,
``chat.tag``. Reading needs ``chats:read``, changing ``chats:write``. Chats are
workspace-wide; another workspace's chat is ``not_found``. A filter naming nothing in the
workspace is ``invalid_args`` on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from relaydesk.domains.chats import service
from relaydesk.domains.chats.schemas import MAX_TAGS, ChatOut, MessageOut, Tag, Text
from relaydesk.domains.properties import service as properties
from relaydesk.exceptions import InvalidArgs, NotFound
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.rpc import Args, Call, IsoDatetime, Methods, PageArgs, cursor_page
from relaydesk.models import Chat, Department, Property, User

methods = Methods()


_UUID = "6a2f41e7-2b0d-4a55-9d2b-6f7f3c1c2a10"
EXAMPLE_CHAT: dict[str, Any] = {
    "uuid": _UUID,
    "property": {"uuid": "f2b3c4d5-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "name": "Shop"},
    "visitor": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    "contact": {"uuid": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "name": "Ann"},
    "department": {"uuid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "Sales"},
    "agent": {"email": "bob@example.com", "name": "Bob"},
    "status": "active",
    "tags": ["billing"],
    "rating": None,
    "missed": False,
    "started_on": "2026-11-23T09:06:15.456789Z",
    "first_response_on": "2026-11-23T09:06:45.123456Z",
    "ended_on": None,
}
EXAMPLE_MESSAGE: dict[str, Any] = {
    "uuid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "sender": "agent",
    "agent": {"email": "bob@example.com", "name": "Bob"},
    "text": "Hello! How can I help?",
    "created_on": "2026-11-23T09:06:45.123456Z",
}


class ChatFilters(Args):
    property: str | None = Field(default=None, description="Only chats of this property (UUID).")
    agent: str | None = Field(
        default=None, description="Only chats answered by the user with this email."
    )
    tag: str | None = Field(default=None, description="Only chats with this tag.")
    department: str | None = Field(
        default=None, description="Only chats of this department (UUID)."
    )
    since: IsoDatetime = Field(
        default=None, description="Only chats started at or after this time (ISO 8601)."
    )
    until: IsoDatetime = Field(
        default=None, description="Only chats started before this time (ISO 8601)."
    )


class ChatListArgs(PageArgs, ChatFilters):
    status: Literal["waiting", "active", "ended"] | None = Field(
        default=None, description="Only chats with this status."
    )


class ChatList(BaseModel):
    chats: list[ChatOut] = Field(description="Most recently started first.")
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class ChatRef(Args):
    uuid: str = Field(description="The chat's UUID.")


class ChatWithMessages(BaseModel):
    chat: ChatOut
    messages: list[MessageOut] = Field(description="The conversation, oldest first.")


class ReplyArgs(Args):
    uuid: str = Field(description="The chat's UUID.")
    text: Text = Field(description="The message (1 to 10000 characters).")


class Replied(BaseModel):
    chat: ChatOut
    sent: MessageOut = Field(description="The message sent.")


class TagArgs(Args):
    uuid: str = Field(description="The chat's UUID.")
    tags: list[Tag] = Field(
        max_length=MAX_TAGS,
        description=f"The chat's tags from now on (at most {MAX_TAGS}; lowercased; [] clears).",
    )


class ChatResult(BaseModel):
    chat: ChatOut


@dataclass
class Resolved:
    prop: Property | None = None
    agent: User | None = None
    department: Department | None = None
    tag: str | None = None


async def resolve(call: Call, args: ChatFilters) -> Resolved:
    """The filters' objects; ``invalid_args`` on each naming nothing in the workspace."""
    session, principal = call.session, call.principal
    errors: dict[str, list[str]] = {}
    found = Resolved(tag=args.tag.strip().lower() if args.tag else None)
    if args.property is not None:
        try:
            found.prop = await properties.get(session, principal, args.property)
        except NotFound:
            errors["property"] = [f"No such object: {args.property}"]
    if args.agent is not None:
        found.agent = await service.find_member(session, principal, args.agent)
        if found.agent is None:
            errors["agent"] = [f"No such object: {args.agent}"]
    if args.department is not None:
        found.department = await service.find_department(session, principal, args.department)
        if found.department is None:
            errors["department"] = [f"No such object: {args.department}"]
    if args.since is not None and args.until is not None and args.until <= args.since:
        errors["until"] = ["Must be later than since."]
    if errors:
        raise InvalidArgs("Invalid arguments.", errors=errors)
    return found


@methods.method(
    "chat.list",
    scope=scopes.CHATS_READ,
    example_args={"status": "active", "tag": "billing", "limit": 50},
    example_result={"chats": [EXAMPLE_CHAT], "next": None},
)
async def list_chats(call: Call, args: ChatListArgs) -> ChatList:
    """List the workspace's chats, most recently started first, one page at a time.

    Filters combine (all must match): `property` and `department` are UUIDs, `agent` the
    answering user's email, `tag` a tag (any case), `status` waiting, active or ended;
    `since` (inclusive) and `until` (exclusive) bound `started_on`. Pass the reply's `next`
    as `cursor` for the following page (with the same filters).
    """
    found = await resolve(call, args)
    stmt = service.filter_query(
        call.principal,
        prop=found.prop,
        agent=found.agent,
        tag=found.tag,
        department=found.department,
        status=args.status,
        since=args.since,
        until=args.until,
    )
    rows, next_cursor = await cursor_page(
        call.session,
        stmt,
        cursor=args.cursor,
        limit=args.limit or call.settings.page_size,
        sort=Chat.started_on,
        id_column=Chat.id,
    )
    wires = await service.render_many(call.session, rows)
    return ChatList.model_validate({"chats": wires, "next": next_cursor})


@methods.method(
    "chat.get",
    scope=scopes.CHATS_READ,
    example_args={"uuid": _UUID},
    example_result={"chat": EXAMPLE_CHAT, "messages": [EXAMPLE_MESSAGE]},
)
async def get_chat(call: Call, args: ChatRef) -> ChatWithMessages:
    """One chat and its whole conversation (visitor, agent and system messages), oldest
    first.

    Another workspace's chat, or a uuid that is none, is `not_found`.
    """
    chat = await service.get(call.session, call.principal, args.uuid)
    messages = await service.messages_of(call.session, chat)
    return ChatWithMessages(
        chat=await service.render_one(call.session, chat),
        messages=await service.render_messages(call.session, messages),
    )


@methods.method(
    "chat.reply",
    scope=scopes.CHATS_WRITE,
    example_args={"uuid": _UUID, "text": "Hello! How can I help?"},
    example_result={"chat": EXAMPLE_CHAT, "sent": EXAMPLE_MESSAGE},
)
async def reply(call: Call, args: ReplyArgs) -> Replied:
    """Send the visitor a message as the calling user.

    The first agent reply sets `first_response_on` and makes the chat `active`; a chat
    without an agent is assigned to the caller. An ended chat is `invalid_args` on `uuid`.
    """
    chat = await service.get(call.session, call.principal, args.uuid)
    message = await service.reply(call.session, call.principal, chat, args.text)
    [rendered] = await service.render_messages(call.session, [message])
    return Replied(chat=await service.render_one(call.session, chat), sent=rendered)


@methods.method(
    "chat.end",
    scope=scopes.CHATS_WRITE,
    example_args={"uuid": _UUID},
    example_result={
        "chat": {**EXAMPLE_CHAT, "status": "ended", "ended_on": "2026-11-23T09:12:01.000000Z"}
    },
)
async def end_chat(call: Call, args: ChatRef) -> ChatResult:
    """End a chat. Emits `chat.ended` to the workspace's webhooks.

    A chat ended without any agent reply is `missed`. A chat that has already ended is
    `invalid_args` on `uuid` (and emits nothing).
    """
    chat = await service.get(call.session, call.principal, args.uuid)
    await service.end(call.session, chat)
    return ChatResult(chat=await service.render_one(call.session, chat))


@methods.method(
    "chat.tag",
    scope=scopes.CHATS_WRITE,
    example_args={"uuid": _UUID, "tags": ["billing", "vip"]},
    example_result={"chat": {**EXAMPLE_CHAT, "tags": ["billing", "vip"]}},
)
async def tag_chat(call: Call, args: TagArgs) -> ChatResult:
    """Set a chat's tags (replacing the ones it had; ended chats too).

    Tags are lowercased and deduplicated; `[]` removes them all.
    """
    chat = await service.get(call.session, call.principal, args.uuid)
    await service.set_tags(call.session, chat, args.tags)
    return ChatResult(chat=await service.render_one(call.session, chat))
