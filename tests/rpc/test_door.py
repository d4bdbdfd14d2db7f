"""The RPC door itself: method lookup and listing, argument parsing and invalid_args,
rate limits, internal errors (nothing committed), the registry's declaration checks."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.rpc import registry
from relaydesk.domains.workspace import service as workspaces
from relaydesk.domains.workspace.schemas import WorkspaceUpdate
from relaydesk.infra.http import rpc as door
from relaydesk.models import Webhook
from relaydesk.platform.webhooks import service as webhooks
from tests.conftest import World
from tests.rpc.conftest import bearer, failed, ok, rpc

URL = "http://127.0.0.1:9/hook"
METHODS = [
    "agent.me",
    "chat.end",
    "chat.get",
    "chat.list",
    "chat.reply",
    "chat.tag",
    "property.create",
    "property.get",
    "property.list",
    "property.member.accept",
    "property.member.invite",
    "property.member.list",
    "property.member.remove",
    "property.update",
    "stats.chats",
    "ticket.close",
    "ticket.create",
    "ticket.get",
    "ticket.list",
    "ticket.update",
    "webhook.create",
    "webhook.delete",
    "webhook.list",
]


async def test_listing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/rpc")  # public: the docs of the door
    body = ok(response)
    assert [m["name"] for m in body["methods"]] == METHODS
    by_name = {m["name"]: m for m in body["methods"]}
    create = by_name["webhook.create"]
    assert create["scope"] == "webhooks:manage"
    assert create["summary"] == "Subscribe an https URL to event types."
    args = {a["name"]: a for a in create["args"]}
    assert args["url"] == {
        "name": "url",
        "type": "string",
        "required": True,
        "description": "https URL the events are POSTed to.",
    }
    assert args["events"]["type"] == "array of string"
    assert args["description"]["required"] is False
    assert create["args_schema"]["additionalProperties"] is False
    assert set(create["args_schema"]["required"]) == {"url", "events"}
    assert [f["name"] for f in create["result"]] == ["webhook"]
    assert "secret" in create["result_schema"]["$defs"]["WebhookCreated"]["properties"]
    me = by_name["agent.me"]
    assert me["scope"] is None
    assert me["args"] == []
    assert {f["name"] for f in me["result"]} >= {"agent", "workspace", "credential", "scopes"}
    listing = by_name["webhook.list"]
    assert {a["name"]: a["required"] for a in listing["args"]} == {
        "cursor": False,
        "limit": False,
    }
    assert [f["name"] for f in listing["result"]] == ["webhooks", "next"]


async def test_unknown_method(client: httpx.AsyncClient, world: World) -> None:
    for headers in ({}, bearer(world.a.admin.personal_v3)):
        response = await client.post("/api/rpc/webhook.frobnicate", json={}, headers=headers)
        body = failed(response, 404, "method_not_found")
        assert "webhook.frobnicate" in body["message"]
    failed(await client.post("/api/rpc", json={}), 405, "method_not_allowed")
    response = await client.get("/api/rpc/agent.me", headers=bearer(world.a.admin.personal_v3))
    failed(response, 405, "method_not_allowed")


async def test_invalid_args(client: httpx.AsyncClient, world: World) -> None:
    key = world.a.company_v3
    # missing required arguments, wrong types, unknown arguments: all at once, per argument
    body = failed(
        await rpc(client, "webhook.create", key, events="contact.*", colour="red"),
        400,
        "invalid_args",
    )
    assert body["args"] == {
        "url": ["This field is required."],
        "events": ['Expected a list of items but got type "str".'],
        "colour": ["Unknown field."],
    }
    body = failed(await rpc(client, "webhook.list", key, limit="many"), 400, "invalid_args")
    assert body["args"] == {"limit": ["A valid integer is required."]}
    body = failed(await rpc(client, "agent.me", key, verbose=True), 400, "invalid_args")
    assert body["args"] == {"verbose": ["Unknown field."]}
    body = failed(await rpc(client, "webhook.delete", key, uuid=5), 400, "invalid_args")
    assert body["args"] == {"uuid": ["Not a valid string."]}
    response = await rpc(client, "webhook.create", key, url=URL + "\x00", events=["*"])
    body = failed(response, 400, "invalid_args")
    assert list(body["args"]) == ["url"]


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"[1, 2]", "application/json", "The body must be a JSON object of arguments."),
        (b'"text"', "application/json", "The body must be a JSON object of arguments."),
        (b"{not json", "application/json", "The body is not valid JSON"),
        (b"<x/>", "application/xml", "Unsupported content type 'application/xml'"),
        (b"url=x", "text/plain", "Unsupported content type 'text/plain'"),
        (b"\xff\xfe=1", "application/x-www-form-urlencoded", "The form body is not valid"),
    ],
)
async def test_malformed_bodies(
    client: httpx.AsyncClient, world: World, content: bytes, content_type: str, message: str
) -> None:
    headers = {**bearer(world.a.company_v3), "Content-Type": content_type}
    response = await client.post("/api/rpc/webhook.list", content=content, headers=headers)
    body = failed(response, 400, "invalid_args")
    assert list(body["args"]) == ["non_field_errors"]
    assert body["args"]["non_field_errors"][0].startswith(message)


async def test_body_too_large(client: httpx.AsyncClient, world: World) -> None:
    headers = bearer(world.a.company_v3)
    big = {"url": URL, "events": ["*"], "description": "x" * (door.MAX_BODY + 1)}
    response = await client.post("/api/rpc/webhook.create", json=big, headers=headers)
    body = failed(response, 400, "invalid_args")
    assert body["args"] == {"non_field_errors": ["The request body is larger than 1000000 bytes."]}

    async def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(11):
            yield b"x" * 100_000

    response = await client.post("/api/rpc/webhook.create", content=chunks(), headers=headers)
    failed(response, 400, "invalid_args")


async def test_empty_body_and_form_bodies(client: httpx.AsyncClient, world: World) -> None:
    headers = bearer(world.a.company_v3)
    response = await client.post("/api/rpc/agent.me", headers=headers)  # no body at all
    assert ok(response)["workspace"]["uuid"] == world.a.uuid
    # a form: repeated keys are lists, JSON arrays/objects are decoded, numbers coerced
    response = await client.post(
        "/api/rpc/webhook.create",
        content=f"url={URL}&events=contact.created&events=group.*&custom_data=%7B%22a%22%3A1%7D",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    webhook = ok(response)["webhook"]
    assert webhook["events"] == ["contact.created", "group.*"]
    assert webhook["custom_data"] == {"a": 1}
    response = await client.post(
        "/api/rpc/webhook.create",
        data={"url": URL, "events": '["contact.*"]'},
        headers=headers,
    )
    assert ok(response)["webhook"]["events"] == ["contact.*"]
    response = await client.post("/api/rpc/webhook.list", data={"limit": "1"}, headers=headers)
    assert len(ok(response)["webhooks"]) == 1
    response = await client.post("/api/rpc/webhook.list", data={"limit": "x"}, headers=headers)
    assert failed(response, 400, "invalid_args")["args"] == {
        "limit": ["A valid integer is required."]
    }
    response = await client.post(
        "/api/rpc/webhook.create", data={"url": URL, "nope": "1"}, headers=headers
    )
    assert set(failed(response, 400, "invalid_args")["args"]) == {"events", "nope"}


async def test_ratelimited(client: httpx.AsyncClient, session: AsyncSession, world: World) -> None:
    ws = await workspaces.get_by_uuid(session, world.a.uuid)
    await workspaces.update(session, ws, WorkspaceUpdate(limit_minute=2))
    await session.commit()
    key = world.a.admin.personal_v3
    response = await rpc(client, "agent.me", key)
    ok(response)
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "1"
    assert "RateLimit-Policy" in response.headers
    ok(await rpc(client, "webhook.list", key))
    response = await rpc(client, "agent.me", key)
    body = failed(response, 429, "ratelimited")
    retry_after = body["retry_after"]
    assert isinstance(retry_after, int)
    assert 0 < retry_after <= 60
    assert response.headers["Retry-After"] == str(retry_after)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    # the other workspace has its own quota
    ok(await rpc(client, "agent.me", world.b.admin.personal_v3))


async def test_internal_error_rolls_back(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    original = webhooks.create

    async def create_then_fail(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)  # the row is flushed in the call's transaction
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(webhooks, "create", create_then_fail)
    with caplog.at_level(logging.ERROR, logger="relaydesk.rpc"):
        response = await rpc(
            client, "webhook.create", world.a.company_v3, url=URL, events=["contact.*"]
        )
    body = failed(response, 500, "internal_error")
    assert body == {"ok": False, "error": "internal_error", "message": "Server Error"}
    assert "boom" not in response.text
    assert any("boom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    count = await session.scalar(select(func.count()).select_from(Webhook))
    assert count == 0
    monkeypatch.setattr(webhooks, "create", original)
    ok(await rpc(client, "webhook.create", world.a.company_v3, url=URL, events=["contact.*"]))
    assert await session.scalar(select(func.count()).select_from(Webhook)) == 1


async def test_domain_error_rolls_back(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A domain error after a write (e.g. a check late in the service): nothing committed."""
    original = webhooks.create

    async def create_then_refuse(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)
        raise webhooks.NotFound("No such thing.")

    monkeypatch.setattr(webhooks, "create", create_then_refuse)
    response = await rpc(client, "webhook.create", world.a.company_v3, url=URL, events=["*"])
    failed(response, 404, "not_found")
    assert await session.scalar(select(func.count()).select_from(Webhook)) == 0


class Out(BaseModel):
    value: int


class Loose(BaseModel):  # does not forbid unknown fields
    x: int = 0


class Clash(BaseModel):  # a result field named like the envelope's
    ok: bool


def test_declarations_are_checked() -> None:
    methods = door.Methods()

    async def documented(call: door.Call, args: door.NoArgs) -> Out:
        """Does something."""
        return Out(value=1)

    method = methods.register("thing.do", documented, scope=None)
    assert (method.summary, method.args, method.result) == ("Does something.", door.NoArgs, Out)

    async def undocumented(call: door.Call, args: door.NoArgs) -> Out:
        return Out(value=1)

    async def loose(call: door.Call, args: Loose) -> Out:
        """Loose."""
        return Out(value=args.x)

    async def clashing(call: door.Call, args: door.NoArgs) -> Clash:
        """Clash."""
        return Clash(ok=True)

    with pytest.raises(ValueError, match="lowercase"):
        methods.register("Thing", documented, scope=None)
    with pytest.raises(ValueError, match="unknown scope"):
        methods.register("thing.do", documented, scope="everything")
    with pytest.raises(TypeError, match="docstring"):
        methods.register("thing.do", undocumented, scope=None)
    with pytest.raises(TypeError, match="forbid unknown"):
        methods.register("thing.do", loose, scope=None)
    with pytest.raises(TypeError, match="reserved"):
        methods.register("thing.do", clashing, scope=None)
    with pytest.raises(ValueError, match="twice"):
        door.Registry(methods, [method])


def test_examples_match_the_schemas() -> None:
    """The docs' examples are valid arguments and results of their methods."""
    assert len(registry) == len(METHODS)
    for method in registry:
        method.args.model_validate(method.example_args)
        method.result.model_validate(method.example_result)
