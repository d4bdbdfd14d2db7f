"""Pydantic models of the webhooks management API (v3) and of custom data.

Input models forbid unknown fields (a typo is a 400, not a silently ignored field).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from relaydesk.kit.validation import no_nul
from relaydesk.platform.webhooks import registry

MAX_URL = 2000
MAX_DESCRIPTION = 255
MAX_EVENTS = 100
MAX_CUSTOM_DATA_BYTES = 8 * 1024

MessageStatusName = Literal["pending", "delivered", "failed"]
StateName = Literal["healthy", "throttled", "disabled"]


def _events(value: list[str]) -> list[str]:
    """Registered types or patterns (``contact.*``, ``*``); duplicates dropped, order kept."""
    for item in value:
        if not registry.is_pattern(item):
            raise PydanticCustomError(
                "unknown_event_type", "Unknown event type: {type}.", {"type": item[:100]}
            )
    return list(dict.fromkeys(value))


def json_object(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object of at most 8 KB serialized, normalised as it will be stored."""
    try:
        raw = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise PydanticCustomError(
            "invalid_json", "Must be a JSON object (integers fit in 64 bits)."
        ) from None
    if len(raw) > MAX_CUSTOM_DATA_BYTES:
        raise PydanticCustomError(
            "too_large",
            "Ensure this object is at most {limit} bytes as JSON (it is {size}).",
            {"limit": MAX_CUSTOM_DATA_BYTES, "size": len(raw)},
        )
    normalised: dict[str, Any] = orjson.loads(raw)  # NaN/Infinity become null, as stored
    return normalised


Url = Annotated[str, AfterValidator(no_nul), Field(min_length=1, max_length=MAX_URL)]
Events = Annotated[list[str], Field(min_length=1, max_length=MAX_EVENTS), AfterValidator(_events)]
Description = Annotated[str, AfterValidator(no_nul), Field(max_length=MAX_DESCRIPTION)]
CustomDataField = Annotated[dict[str, Any], AfterValidator(json_object)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="https URL the events are POSTed to.")
    events: Events = Field(
        description='Event types or patterns, e.g. ["contact.created", "group.*"] or ["*"].'
    )
    description: Description = ""
    custom_data: CustomDataField = Field(
        default_factory=dict,
        description="Your own JSON object (at most 8 KB), added to every envelope as "
        "`custom_data`.",
    )


class WebhookUpdate(BaseModel):
    """Only the fields given change; ``null`` leaves a field as it is."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    custom_data: CustomDataField | None = None
    disabled: bool | None = Field(
        default=None,
        description="true: stop sending (messages queue). false: re-enable; the circuit "
        "closes and the queued messages go out.",
    )


class Health(BaseModel):
    state: StateName = Field(
        description="healthy; throttled (circuit open: messages wait, one probe per "
        "interval); disabled (nothing is sent until re-enabled)."
    )
    failure_rate: float = Field(
        ge=0, le=1, description="Share of failed attempts in the window (0 without attempts)."
    )
    attempts_in_window: int = Field(
        description="Attempts in the rolling window (since the circuit last closed, at most "
        "RELAYDESK_WEBHOOK_FAILURE_WINDOW_SECONDS back)."
    )
    next_probe_on: str | None = Field(description="Throttled: when the next probe goes out.")
    disabled_reason: str | None


class WebhookOut(BaseModel):
    uuid: str
    url: str
    events: list[str]
    description: str
    custom_data: dict[str, Any]
    state: StateName
    disabled_reason: str | None
    previous_secret_expires_on: str | None = Field(
        description="After a rotation: until then, the previous secret signs too."
    )
    created_on: str
    modified_on: str


class WebhookDetail(WebhookOut):
    health: Health


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_…). Shown only here and when rotated."
    )


class WebhookPage(BaseModel):
    next: str | None
    previous: str | None
    results: list[WebhookOut]


class AttemptOut(BaseModel):
    attempted_on: str
    status_code: int | None = Field(description="null when no response (connection error).")
    duration_ms: int
    error: str | None
    response: str | None = Field(description="The start of the response body.")


class MessageOut(BaseModel):
    id: str = Field(description="msg_…: the webhook-id header, the same on every attempt.")
    event_id: str
    event_type: str
    webhook: str = Field(description="The webhook's uuid.")
    status: MessageStatusName
    created_on: str
    next_attempt_on: str | None = Field(description="Pending messages only.")
    delivered_on: str | None
    attempts: list[AttemptOut] = Field(description="Oldest first.")


class MessageDetail(MessageOut):
    payload: dict[str, Any] = Field(description="The envelope as it is sent.")


class MessagePage(BaseModel):
    next: str | None
    previous: str | None
    results: list[MessageOut]


class QueuedTest(BaseModel):
    id: str = Field(description="The queued message's id (msg_…).")
    event_id: str


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str = Field(description="ISO 8601; failed messages created at or after it.")
    until: str | None = Field(default=None, description="ISO 8601; default now.")


class Recovered(BaseModel):
    recovered: int = Field(description="How many failed messages went back to pending.")


class CustomDataOut(BaseModel):
    object_type: str
    uuid: str
    data: dict[str, Any]
    modified_on: str


class ErrorOut(BaseModel):
    """How v3 renders errors. A 400 also carries each field's messages at the top level,
    e.g. ``{"error": "invalid_args", "detail": ..., "errors": {"url": [...]}, "url": [...]}``."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="invalid_args, not_authed, invalid_auth, forbidden, not_found…")
    detail: str
    errors: dict[str, Any] | None = Field(default=None, description="400: messages per field.")
