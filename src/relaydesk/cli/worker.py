"""``relaydesk worker``: the webhook delivery worker on its own (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from relaydesk.config import get_settings
from relaydesk.db.engine import create_engine, create_sessionmaker
from relaydesk.db.migrate import upgrade
from relaydesk.infra.logging import configure_logging
from relaydesk.platform.webhooks.dispatcher import Dispatcher


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
    settings = get_settings()
    configure_logging(settings.log_level)
    upgrade(settings.effective_database_url)

    async def main() -> None:
        engine = create_engine(settings)
        dispatcher = Dispatcher(
            settings,
            create_sessionmaker(engine),
            only_workspaces=only_workspace or (),
            exclude_workspaces=exclude_workspace or (),
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, dispatcher.stop)
        try:
            await dispatcher.run()
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    except ValueError as exc:  # an unknown workspace uuid
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
