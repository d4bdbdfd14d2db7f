"""Queue webhook events for ``bench/run.py webhooks`` through relaydesk's own outbox.

Run by the harness with the project's interpreter and ``src/`` first on ``PYTHONPATH``, after
``relaydesk migrate`` and the fixture (workspace, user, token), before the worker starts. It
opens the bench database with relaydesk's ``create_engine(Settings(...))`` and
``create_sessionmaker``, then:

1. creates one webhook in the workspace (``events=["contact.*"]``, a new ``whsec_`` secret,
   ``url`` the loopback sink), committed; with ``--held``, a second one like it, set
   ``disabled`` once its messages are queued (so no worker claims them) until the harness
   enables it with one UPDATE (the running-worker measurement: every message due at once to
   a worker that is already up);
2. calls ``events.emit(session, workspace_id, "contact.created", items)`` with ``--batch``
   contact-shaped items at a time, committing after each call (one outbox transaction per
   batch: one event row and one message row per item and webhook), until ``--events`` are
   queued. This part is timed (``seconds``);
3. writes the exact body the worker will POST for the first message (the event's envelope
   plus the webhook's ``custom_data``, built with the dispatcher's own ``envelope_body``) to
   ``--sample-body``, so the floor posts bodies of the same size.

Prints one JSON object: ``{"webhook_uuid", "webhook_id", "secret", "workspace_id", "events",
"messages", "batches", "batch", "seconds", "body_bytes", "held": null | {"webhook_id",
"secret", "messages"}}``.

Usage::

    python bench/webhooks_enqueue.py --data-dir DIR --workspace UUID --url URL \\
        --events 20000 --batch 1000 --sample-body FILE [--held]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from relaydesk.config import Settings
from relaydesk.db.engine import create_engine, create_sessionmaker
from relaydesk.models import Webhook, WebhookEvent, WebhookMessage, WebhookState, Workspace
from relaydesk.platform.webhooks import events, signing
from relaydesk.platform.webhooks.dispatcher import envelope_body

EVENT_TYPE = "contact.created"


def contact_item(i: int) -> dict[str, Any]:
    """A contact in its API shape (about the size of a real one with one URN)."""
    stamp = "2024-05-01T12:00:00.000000Z"
    return {
        "uuid": str(uuid.uuid4()),
        "name": f"Contact {i:06d}",
        "status": "active",
        "language": "eng",
        "urns": [f"tel:+2507880{i % 100_000:05d}"],
        "groups": [],
        "fields": {"age": str(18 + i % 60)},
        "flow": None,
        "created_on": stamp,
        "modified_on": stamp,
        "last_seen_on": None,
    }


async def enqueue(args: argparse.Namespace) -> tuple[dict[str, Any], bytes]:
    """The summary printed, and the body of the first message."""
    settings = Settings(data_dir=Path(args.data_dir))
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            workspace_id = (
                await session.execute(select(Workspace.id).where(Workspace.uuid == args.workspace))
            ).scalar_one()

            def webhook(description: str) -> Webhook:
                made = Webhook(
                    uuid=str(uuid.uuid4()),
                    workspace_id=workspace_id,
                    url=args.url,
                    events=["contact.*"],
                    secret=signing.new_secret(),
                    description=description,
                )
                session.add(made)
                return made

            hook = webhook("bench/run.py webhooks")
            held = (
                webhook("bench/run.py webhooks (held until the worker runs)") if args.held else None
            )
            await session.commit()

        started = time.perf_counter()
        queued = batches = 0
        while queued < args.events:
            size = min(args.batch, args.events - queued)
            items = [contact_item(queued + i) for i in range(size)]
            async with sessionmaker() as session:
                emitted = await events.emit(session, workspace_id, EVENT_TYPE, items)
                await session.commit()
            expected = size * (2 if held is not None else 1)
            if len(emitted.message_ids) != expected:
                raise SystemExit(f"emit queued {len(emitted.message_ids)} messages, not {expected}")
            queued += size
            batches += 1
        seconds = time.perf_counter() - started
        if held is not None:  # queued like the first; now held back until the harness says
            async with sessionmaker() as session:
                await session.execute(
                    update(Webhook)
                    .where(Webhook.id == held.id)
                    .values(
                        state=WebhookState.DISABLED.value,
                        disabled_reason="bench: enabled once the worker is running",
                    )
                )
                await session.commit()

        async with sessionmaker() as session:

            async def count(webhook_id: int) -> int:
                found = await session.execute(
                    select(func.count()).where(WebhookMessage.webhook_id == webhook_id)
                )
                return int(found.scalar_one())

            messages = await count(hook.id)
            held_summary = (
                {"webhook_id": held.id, "secret": held.secret, "messages": await count(held.id)}
                if held is not None
                else None
            )
            first_body = (
                await session.execute(select(WebhookEvent.body).order_by(WebhookEvent.id).limit(1))
            ).scalar_one()
    finally:
        await engine.dispose()

    body = envelope_body(first_body, hook.custom_data or {})
    summary = {
        "webhook_uuid": hook.uuid,
        "webhook_id": hook.id,
        "secret": hook.secret,
        "workspace_id": workspace_id,
        "events": queued,
        "messages": messages,
        "batches": batches,
        "batch": args.batch,
        "seconds": round(seconds, 3),
        "body_bytes": len(body),
        "held": held_summary,
    }
    return summary, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--workspace", required=True, help="workspace uuid")
    parser.add_argument("--url", required=True, help="the webhook's URL (the sink)")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000, help="items per emit (and commit)")
    parser.add_argument("--sample-body", required=True, help="file for one message's body")
    parser.add_argument(
        "--held", action="store_true", help="also queue to a second, disabled webhook"
    )
    args = parser.parse_args()
    summary, body = asyncio.run(enqueue(args))
    Path(args.sample_body).write_bytes(body)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
