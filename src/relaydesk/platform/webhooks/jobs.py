"""A claimed message ready to send, and what came of sending it (no HTTP client imported
here: the worker's parent process in ``RELAYDESK_WEBHOOK_SENDER=process`` mode never loads one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias


@dataclass(slots=True)
class Job:
    """A claimed message, ready to send."""

    message_pk: int
    message_id: str  # msg_…: the webhook-id header
    webhook_id: int
    workspace_id: int
    url: str
    keys: list[str]  # signing secrets: the current one, and the previous during a rotation
    body: bytes
    attempt_count: int  # attempts made before this one (since the last (re)queue)
    lease_until: datetime
    probe: bool = False  # the one message a throttled webhook sends to test the water


@dataclass(slots=True)
class Outcome:
    job: Job
    attempted_on: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response: str | None
    succeeded: bool
    retriable: bool
    retry_after: float | None = None  # seconds, from the response's Retry-After


# What one POST came to: Outcome's fields after ``job``, in order (see Sender.attempt)
Attempt: TypeAlias = tuple[
    datetime, int | None, int, str | None, str | None, bool, bool, float | None
]
