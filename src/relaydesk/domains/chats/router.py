"""The widget's chat endpoints (no API key: the property's public widget).

* ``POST /widget/{property}/chats`` ``{name?, email?, message, department?}`` → 201
  ``{"chat": …, "visitor_token": "rdv_…"}`` (emits ``chat.started``);
* ``POST /widget/{property}/chats/{chat}/messages`` ``{text}`` → 201 ``{"message": …}``;
* ``GET /widget/{property}/chats/{chat}/messages[?after=<message uuid>]`` → the chat and its
  messages (oldest first; only those after ``after``: polling);
* ``POST /widget/{property}/chats/{chat}/end`` ``{rating?}`` → the chat (emits
  ``chat.ended``).

The chat's calls need ``X-Visitor-Token`` (the secret from the start): missing or wrong is
403 and counts towards the IP's brute-force guard (too many: 429, as for bad API keys); an
unknown property or chat is 404. Bodies are at most :data:`MAX_BODY` bytes and messages
at most 10000 characters, 1000 per chat (docs/helpdesk.md#chats).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from relaydesk.domains.chats import service
from relaydesk.domains.chats.schemas import (
    EndBody,
    MessageBody,
    Messages,
    StartBody,
    Started,
)
from relaydesk.exceptions import Forbidden, InvalidArgs, RateLimited
from relaydesk.infra.http.guard import client_ip
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2params import field_errors
from relaydesk.models import Chat

MAX_BODY = 32_000  # bytes
TOKEN_HEADER = "X-Visitor-Token"  # noqa: S105

M = TypeVar("M", bound=BaseModel)

router = APIRouter(prefix="/widget", tags=["widget"])


async def _body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        message = f"The request body is larger than {MAX_BODY} bytes."
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    try:
        data: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        message = "The body is not valid JSON."
        raise InvalidArgs(message, errors={"non_field_errors": [message]}) from None
    if not isinstance(data, dict):
        message = "The body must be a JSON object."
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidArgs("Invalid body.", errors=field_errors(exc)) from None


async def _visitor_chat(
    request: Request, session: AsyncSession, property_uuid: str, chat_uuid: str, token: str | None
) -> Chat:
    """The chat if ``token`` is its visitor's: a wrong token counts towards the IP's
    brute-force guard (as a bad API key does), and a blocked IP is refused (429) first."""
    limiter = request.app.state.limiter
    ip = client_ip(request)
    blocked = limiter.ip_blocked(ip)
    if blocked:
        raise RateLimited(blocked)
    try:
        return await service.visitor_chat(session, property_uuid, chat_uuid, token)
    except Forbidden:
        await limiter.auth_failure(ip)
        raise


@router.post("/{property_uuid}/chats", status_code=201)
async def start_chat(request: Request, property_uuid: str) -> Response:
    body = await _body(request, StartBody)
    async with request.app.state.sessionmaker() as session:
        prop = await service.widget_property(session, property_uuid)
        chat, token = await service.start(
            session,
            prop,
            name=body.name,
            email=body.email,
            message=body.message,
            department=body.department,
        )
        result = Started(chat=await service.render_one(session, chat), visitor_token=token)
        await session.commit()
    return FastJSONResponse(result.model_dump(mode="json"), status_code=201)


@router.post("/{property_uuid}/chats/{chat_uuid}/messages", status_code=201)
async def send_message(
    request: Request,
    property_uuid: str,
    chat_uuid: str,
    x_visitor_token: str | None = Header(default=None),
) -> Response:
    async with request.app.state.sessionmaker() as session:
        chat = await _visitor_chat(request, session, property_uuid, chat_uuid, x_visitor_token)
        body = await _body(request, MessageBody)
        message = await service.visitor_message(session, chat, body.text)
        [rendered] = await service.render_messages(session, [message])
        await session.commit()
    return FastJSONResponse({"message": rendered.model_dump(mode="json")}, status_code=201)


@router.get("/{property_uuid}/chats/{chat_uuid}/messages")
async def poll_messages(
    request: Request,
    property_uuid: str,
    chat_uuid: str,
    after: str | None = None,
    x_visitor_token: str | None = Header(default=None),
) -> Response:
    async with request.app.state.sessionmaker() as session:
        chat = await _visitor_chat(request, session, property_uuid, chat_uuid, x_visitor_token)
        messages = await service.messages_of(session, chat, after)
        result = Messages(
            chat=await service.render_one(session, chat),
            messages=await service.render_messages(session, messages),
        )
    return FastJSONResponse(result.model_dump(mode="json"))


@router.post("/{property_uuid}/chats/{chat_uuid}/end")
async def end_chat(
    request: Request,
    property_uuid: str,
    chat_uuid: str,
    x_visitor_token: str | None = Header(default=None),
) -> Response:
    async with request.app.state.sessionmaker() as session:
        chat = await _visitor_chat(request, session, property_uuid, chat_uuid, x_visitor_token)
        body = await _body(request, EndBody)
        await service.end(session, chat, body.rating)
        rendered = await service.render_one(session, chat)
        await session.commit()
    return FastJSONResponse({"chat": rendered.model_dump(mode="json")})
