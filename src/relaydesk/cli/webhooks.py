"""``relaydesk webhook …``: the operator's side of the webhooks API (same service functions,
acting as ``Principal.operator`` in the webhook's workspace; each command commits).

Every ``relaydesk`` command (the ``worker`` too) imports this module to register the sub-app,
so the services and schemas are imported inside the commands (see ``relaydesk.cli.main``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel

from relaydesk.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from relaydesk.platform.webhooks.schemas import MessageOut

webhook_app = typer.Typer(
    help="Webhooks: create, list, inspect messages, resend and recover.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only (for scripts).")]
Workspace = Annotated[str, typer.Option(help="Workspace UUID.")]


class StatusChoice(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class _MessageRow(BaseModel):
    id: str
    event_type: str
    status: str
    created_on: str
    attempts: int
    last_status_code: int | None


# relaydesk.cli.main registers this sub-app, so its helpers are imported when a command runs.


@webhook_app.command("create")
def webhook_create(
    workspace: Workspace,
    url: Annotated[str, typer.Option(help="https URL the events are POSTed to.")],
    event: Annotated[
        list[str],
        typer.Option("--event", help="Event type or pattern (contact.*, *); repeat for several."),
    ],
    description: Annotated[str, typer.Option(help="A note to recognise it by.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Create a webhook. Prints its uuid and signing secret (shown this once)."""
    from relaydesk.cli.main import _err, _operator_in, _print_json, _print_object, _run
    from relaydesk.platform.webhooks import service as webhooks
    from relaydesk.platform.webhooks.schemas import WebhookCreate

    settings = get_settings()

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        data = WebhookCreate(url=url, events=event, description=description)
        return webhooks.to_created(await webhooks.create(session, principal, data, settings))

    result = _run(settings, work)
    if json_:
        _print_json(result)
    else:
        _print_object("Webhook created", result)
        _err().print("[yellow]Copy the secret now: it is not shown again.[/yellow]")


@webhook_app.command("list")
def webhook_list(workspace: Workspace, json_: JsonOpt = False) -> None:
    """List a workspace's webhooks (never their secrets)."""
    from relaydesk.cli.main import _operator_in, _print_json, _print_list, _run
    from relaydesk.platform.webhooks import service as webhooks

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        return [webhooks.to_out(w) for w in await webhooks.list_webhooks(session, principal)]

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
    else:
        _print_list("Webhooks", rows, ["uuid", "url", "events", "state", "created_on"])


@webhook_app.command("messages")
def webhook_messages(
    webhook: Annotated[str, typer.Argument(metavar="WEBHOOK_UUID")],
    status: Annotated[StatusChoice | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    json_: JsonOpt = False,
) -> None:
    """A webhook's newest messages with their attempts."""
    from relaydesk.cli.main import _print_json, _print_list, _run
    from relaydesk.platform.webhooks import service as webhooks

    async def work(session: AsyncSession) -> list[MessageOut]:
        principal = await webhooks.operator_for_webhook(session, webhook)
        return await webhooks.recent_messages(
            session, principal, webhook, status=status.value if status else None, limit=limit
        )

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
        return
    summary = [
        _MessageRow(
            id=m.id,
            event_type=m.event_type,
            status=m.status,
            created_on=m.created_on,
            attempts=len(m.attempts),
            last_status_code=m.attempts[-1].status_code if m.attempts else None,
        )
        for m in rows
    ]
    _print_list("Messages", summary, list(_MessageRow.model_fields))


@webhook_app.command("resend")
def webhook_resend(
    message: Annotated[str, typer.Argument(metavar="MESSAGE_ID")], json_: JsonOpt = False
) -> None:
    """Put a message (same id) back to pending, due now."""
    from relaydesk.cli.main import _err, _print_json, _run
    from relaydesk.platform.webhooks import service as webhooks

    async def work(session: AsyncSession) -> MessageOut:
        principal = await webhooks.operator_for_message(session, message)
        return await webhooks.resend(session, principal, message)

    result = _run(get_settings(), work)
    if json_:
        _print_json(result)
    else:
        _err().print(f"re-queued {result.id}")


@webhook_app.command("recover")
def webhook_recover(
    webhook: Annotated[str, typer.Argument(metavar="WEBHOOK_UUID")],
    since: Annotated[str, typer.Option(help="ISO 8601: failed messages created from then.")],
    until: Annotated[str | None, typer.Option(help="ISO 8601 (default: now).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Put every failed message of a webhook created in [since, until] back to pending."""
    from relaydesk.cli.main import _err, _print_json, _run
    from relaydesk.platform.webhooks import service as webhooks

    async def work(session: AsyncSession) -> int:
        principal = await webhooks.operator_for_webhook(session, webhook)
        return await webhooks.recover(session, principal, webhook, since, until)

    count = _run(get_settings(), work)
    if json_:
        _print_json({"recovered": count})
    else:
        _err().print(f"re-queued {count} failed message{'s' if count != 1 else ''}")
