"""v3: manage webhooks, inspect and re-queue their messages, attach custom data to objects.

Reads take any v3 key of the workspace; writes need an administrator's key or a company key
(403 otherwise). Another workspace's webhook or message is a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response

from relaydesk.config import Settings
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.deps import Session, V3Principal
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.scoping import requires
from relaydesk.models import Webhook, WebhookMessage
from relaydesk.platform.webhooks import custom_data, service
from relaydesk.platform.webhooks.schemas import (
    CustomDataOut,
    ErrorOut,
    MessageDetail,
    MessageOut,
    MessagePage,
    QueuedTest,
    Recovered,
    RecoverIn,
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
    WebhookOut,
    WebhookPage,
    WebhookUpdate,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid arguments (messages per field)."},
    401: {"model": ErrorOut, "description": "No key, or not a valid v3 key."},
    403: {"model": ErrorOut, "description": "Writes need an administrator's or company key."},
    404: {"model": ErrorOut, "description": "No such object in this workspace."},
}

# OAuth access tokens need webhooks:manage, for custom data too (it exists to enrich webhook
# payloads); the role checks above still apply (docs/auth.md#login-and-scopes)
MANAGE = [requires(scopes.WEBHOOKS_MANAGE)]
router = APIRouter(prefix="/api/v3", tags=["webhooks"], responses=ERRORS, dependencies=MANAGE)
custom_data_router = APIRouter(
    prefix="/api/v3/custom_data", tags=["custom_data"], responses=ERRORS, dependencies=MANAGE
)

CURSOR = Query(default=None, description="The `next` or `previous` link's cursor.")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/webhooks", status_code=201, response_model=WebhookCreated, summary="Create a webhook"
)
async def create_webhook(
    request: Request, session: Session, principal: V3Principal, data: WebhookCreate
) -> WebhookCreated:
    """Subscribes an https URL to event types. The response carries the signing `secret`
    (`whsec_…`): store it, it is not shown again (rotate it to get a new one). A URL that is
    not https or that is or resolves to a non-public address is a 400 `{"url": [...]}`."""
    new = await service.create(session, principal, data, _settings(request))
    await session.commit()
    return service.to_created(new)


@router.get("/webhooks", response_model=WebhookPage, summary="List webhooks")
async def list_webhooks(
    request: Request,
    session: Session,
    principal: V3Principal,
    cursor: str | None = CURSOR,
) -> dict[str, Any]:
    """The workspace's webhooks, newest first, one page at a time."""

    async def render(rows: Sequence[Webhook]) -> list[WebhookOut]:
        return [service.to_out(w) for w in rows]

    return await keyset_page(
        session,
        service.list_stmt(principal),
        request,
        sort=Webhook.created_on,
        id_column=Webhook.id,
        render=render,
    )


@router.get("/webhooks/{uuid}", response_model=WebhookDetail, summary="Get a webhook")
async def get_webhook(
    uuid: str, request: Request, session: Session, principal: V3Principal
) -> WebhookDetail:
    """The webhook with its `health`: circuit state, failure rate over the rolling window,
    next probe time when throttled, the reason when disabled."""
    webhook = await service.get(session, principal, uuid)
    return await service.to_detail(session, webhook, _settings(request))


@router.patch("/webhooks/{uuid}", response_model=WebhookDetail, summary="Change a webhook")
async def update_webhook(
    uuid: str,
    request: Request,
    session: Session,
    principal: V3Principal,
    data: WebhookUpdate,
) -> WebhookDetail:
    """Changes the fields given. `"disabled": true` stops sending (messages queue);
    `"disabled": false` re-enables it: healthy again, queued messages go out at once."""
    settings = _settings(request)
    webhook = await service.update(session, principal, uuid, data, settings)
    detail = await service.to_detail(session, webhook, settings)
    await session.commit()
    return detail


@router.delete("/webhooks/{uuid}", status_code=204, summary="Delete a webhook")
async def delete_webhook(uuid: str, session: Session, principal: V3Principal) -> Response:
    """Nothing more is sent to it: its pending messages are marked failed."""
    await service.delete(session, principal, uuid)
    await session.commit()
    return Response(status_code=204)


@router.post(
    "/webhooks/{uuid}/rotate-secret",
    response_model=WebhookCreated,
    summary="Rotate a webhook's signing secret",
)
async def rotate_secret(
    uuid: str, request: Request, session: Session, principal: V3Principal
) -> WebhookCreated:
    """Returns the new `secret`. For the overlap (24 h by default) messages are signed with
    both the new and the previous secret, so receivers can switch without losing any."""
    new = await service.rotate_secret(session, principal, uuid, _settings(request))
    await session.commit()
    return service.to_created(new)


@router.post(
    "/webhooks/{uuid}/test",
    status_code=202,
    response_model=QueuedTest,
    summary="Send a test event",
)
async def send_test(uuid: str, session: Session, principal: V3Principal) -> QueuedTest:
    """Queues a `webhook.test` event to this webhook only, whatever its event filter."""
    queued = await service.send_test(session, principal, uuid)
    await session.commit()
    return queued


@router.get(
    "/webhooks/{uuid}/messages", response_model=MessagePage, summary="List a webhook's messages"
)
async def list_messages(
    uuid: str,
    request: Request,
    session: Session,
    principal: V3Principal,
    status: Literal["pending", "delivered", "failed"] | None = Query(default=None),
    since: str | None = Query(
        default=None, description="ISO 8601: messages created at or after this time."
    ),
    until: str | None = Query(
        default=None, description="ISO 8601: messages created at or before this time."
    ),
    cursor: str | None = CURSOR,
) -> dict[str, Any]:
    """Messages (one per event sent to this webhook), newest first, each with its attempts
    (oldest first). A message's `id` is the `webhook-id` header it is sent with."""
    webhook, stmt = await service.messages_stmt(
        session, principal, uuid, status=status, since=since, until=until
    )

    async def render(rows: Sequence[WebhookMessage]) -> list[MessageOut]:
        return await service.render_messages(session, rows, {webhook.id: webhook.uuid})

    return await keyset_page(
        session,
        stmt,
        request,
        sort=WebhookMessage.created_on,
        id_column=WebhookMessage.id,
        render=render,
    )


@router.post(
    "/webhooks/{uuid}/recover",
    status_code=202,
    response_model=Recovered,
    summary="Re-queue a webhook's failed messages",
)
async def recover(
    uuid: str, session: Session, principal: V3Principal, data: RecoverIn
) -> Recovered:
    """Every failed message created in [`since`, `until`] (default now) goes back to
    pending, keeping its id, with a fresh set of retries."""
    count = await service.recover(session, principal, uuid, data.since, data.until)
    await session.commit()
    return Recovered(recovered=count)


@router.get("/messages/{id}", response_model=MessageDetail, summary="Get a message")
async def get_message(id: str, session: Session, principal: V3Principal) -> MessageDetail:
    """One message with its attempts and its `payload` (the envelope it is sent as)."""
    return await service.get_message(session, principal, id)


@router.post(
    "/messages/{id}/resend",
    status_code=202,
    response_model=MessageOut,
    summary="Resend a message",
)
async def resend_message(id: str, session: Session, principal: V3Principal) -> MessageOut:
    """Puts the same message (same id) back to pending, due now, with a fresh set of
    retries; whatever its status (delivered messages are sent again)."""
    message = await service.resend(session, principal, id)
    await session.commit()
    return message


# -- custom data ---------------------------------------------------------------------------

OBJECT_TYPE = Path(
    description="Singular: " + ", ".join(custom_data.OBJECT_TYPES) + ".",
    json_schema_extra={"enum": list(custom_data.OBJECT_TYPES)},
)
OBJECT_UUID = Path(description="The object's uuid.")


@custom_data_router.put(
    "/{object_type}/{uuid}", response_model=CustomDataOut, summary="Set an object's custom data"
)
async def put_custom_data(
    session: Session,
    principal: V3Principal,
    object_type: str = OBJECT_TYPE,
    uuid: str = OBJECT_UUID,
    data: dict[str, Any] = Body(
        description="Any JSON object (at most 8 KB); replaces what was there.",
        examples=[{"employee_id": "E-1042"}],
    ),
) -> CustomDataOut:
    """Attaches your own data to a contact, user, group, … It appears as `custom_data` on
    that object wherever an event embeds it."""
    out = await custom_data.put(session, principal, object_type, uuid, data)
    await session.commit()
    return out


@custom_data_router.get(
    "/{object_type}/{uuid}", response_model=CustomDataOut, summary="Get an object's custom data"
)
async def get_custom_data(
    session: Session,
    principal: V3Principal,
    object_type: str = OBJECT_TYPE,
    uuid: str = OBJECT_UUID,
) -> CustomDataOut:
    """404 when the object does not exist or has no custom data."""
    return await custom_data.get(session, principal, object_type, uuid)


@custom_data_router.delete(
    "/{object_type}/{uuid}", status_code=204, summary="Remove an object's custom data"
)
async def delete_custom_data(
    session: Session,
    principal: V3Principal,
    object_type: str = OBJECT_TYPE,
    uuid: str = OBJECT_UUID,
) -> Response:
    await custom_data.delete(session, principal, object_type, uuid)
    await session.commit()
    return Response(status_code=204)
