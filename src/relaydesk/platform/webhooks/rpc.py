"""RPC methods for webhooks: ``webhook.list``, ``webhook.create``, ``webhook.delete``.

The same service calls, rules and object shapes as the v3 API (router_v3): every method needs
the ``webhooks:manage`` scope; creating and deleting also need an administrator's or a company
key (``forbidden``); another workspace's webhook is ``not_found``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from relaydesk.infra.auth import scopes
from relaydesk.infra.http.rpc import Args, Call, Done, Methods, PageArgs, cursor_page
from relaydesk.models import Webhook
from relaydesk.platform.webhooks import service
from relaydesk.platform.webhooks.schemas import WebhookCreate, WebhookCreated, WebhookOut

methods = Methods()


_UUID = "0b9a6a4e-7f5c-4d8e-9c51-3f1d2a7b8c90"
_HOOK: dict[str, Any] = {
    "uuid": _UUID,
    "url": "https://example.com/hooks/relaydesk",
    "events": ["contact.*"],
    "description": "CRM sync",
    "custom_data": {},
    "state": "healthy",
    "disabled_reason": None,
    "previous_secret_expires_on": None,
    "created_on": "2026-11-23T10:00:00.000000Z",
    "modified_on": "2026-11-23T10:00:00.000000Z",
}


class WebhookListArgs(PageArgs):
    """Arguments of ``webhook.list``: a page (``cursor``, ``limit``)."""


class WebhookList(BaseModel):
    webhooks: list[WebhookOut] = Field(description="Newest first.")
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class WebhookCreatedResult(BaseModel):
    webhook: WebhookCreated = Field(
        description="The new webhook with its signing `secret` (shown only here)."
    )


class WebhookRef(Args):
    uuid: str = Field(description="The webhook's uuid.")


@methods.method(
    "webhook.list",
    scope=scopes.WEBHOOKS_MANAGE,
    example_args={"limit": 50},
    example_result={"webhooks": [_HOOK], "next": None},
)
async def list_webhooks(call: Call, args: WebhookListArgs) -> WebhookList:
    """List the workspace's webhooks, newest first, one page at a time.

    Pass the reply's `next` as `cursor` for the following page.
    """
    rows, next_cursor = await cursor_page(
        call.session,
        service.list_stmt(call.principal),
        cursor=args.cursor,
        limit=args.limit or call.settings.page_size,
        sort=Webhook.created_on,
        id_column=Webhook.id,
    )
    return WebhookList(webhooks=[service.to_out(w) for w in rows], next=next_cursor)


@methods.method(
    "webhook.create",
    scope=scopes.WEBHOOKS_MANAGE,
    example_args={
        "url": "https://example.com/hooks/relaydesk",
        "events": ["contact.*"],
        "description": "CRM sync",
    },
    example_result={"webhook": {**_HOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
)
async def create_webhook(call: Call, args: WebhookCreate) -> WebhookCreatedResult:
    """Subscribe an https URL to event types.

    The reply carries the signing `secret` (`whsec_…`): store it, it is not shown again. Needs
    an administrator's or a company key. A URL that is not https, or that is or resolves to a
    non-public address, is `invalid_args` on `url`.
    """
    new = await service.create(call.session, call.principal, args, call.settings)
    return WebhookCreatedResult(webhook=service.to_created(new))


@methods.method(
    "webhook.delete",
    scope=scopes.WEBHOOKS_MANAGE,
    example_args={"uuid": _UUID},
    example_result={},
)
async def delete_webhook(call: Call, args: WebhookRef) -> Done:
    """Delete a webhook: nothing more is sent to it, its pending messages are marked failed.

    Needs an administrator's or a company key; another workspace's webhook is `not_found`.
    """
    await service.delete(call.session, call.principal, args.uuid)
    return Done()
