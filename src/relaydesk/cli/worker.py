"""``relaydesk worker``: the webhook delivery worker on its own (docs/webhooks.md).

Every ``relaydesk`` command imports this module to register ``worker``, so the worker's own
dependencies (the dispatcher and aiohttp, the engine, logging) are imported when it runs.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from relaydesk.config import get_settings
from relaydesk.kit.loop import run_event_loop


def worker(
    only_workspace: Annotated[
        list[str] | None,
        typer.Option(
            "--only-workspace",
            help="Deliver only this workspace's messages (repeatable): give a large client "
            "its own workers.",
        ),
    ] = None,
    exclude_workspace: Annotated[
        list[str] | None,
        typer.Option("--exclude-workspace", help="Never deliver this workspace's (repeatable)."),
    ] = None,
) -> None:
    """Deliver webhooks until SIGINT/SIGTERM (then finish what is in flight and stop).

    Any number of workers may run against one PostgreSQL database: they claim messages with
    FOR UPDATE SKIP LOCKED and leases. `relaydesk serve` runs one too unless
    RELAYDESK_WORKER=off.
    """
    from relaydesk.platform.webhooks.sender_process import make_sender

    settings = get_settings()
    # first: a sender process (RELAYDESK_WEBHOOK_SENDER) starts while this one imports
    sender = make_sender(settings, standalone=True)

    from relaydesk.db.engine import create_engine, create_sessionmaker
    from relaydesk.db.migrate import ensure_upgraded
    from relaydesk.infra.logging import configure_logging
    from relaydesk.platform.webhooks.dispatcher import Dispatcher

    configure_logging(settings.log_level)
    # Nearly always at head already: one query instead of importing and running Alembic.
    ensure_upgraded(settings.effective_database_url)

    async def main() -> None:
        engine = create_engine(settings)
        dispatcher = Dispatcher(
            settings,
            create_sessionmaker(engine),
            only_workspaces=only_workspace or (),
            exclude_workspaces=exclude_workspace or (),
            sender=sender,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, dispatcher.stop)
        try:
            await dispatcher.run()
        finally:
            await engine.dispose()

    try:
        run_event_loop(main())
    except ValueError as exc:  # an unknown workspace uuid
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
