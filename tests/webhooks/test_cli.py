"""``relaydesk webhook create|list|messages|resend|recover`` against a temporary SQLite
database (Typer's runner, in process: the commands migrate, act as the operator, commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from relaydesk.cli.main import app
from relaydesk.config import get_settings
from relaydesk.db.engine import create_engine, create_sessionmaker
from relaydesk.models import MessageStatus, Webhook, WebhookMessage
from relaydesk.platform.webhooks import events


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RELAYDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELAYDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RELAYDESK_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("RELAYDESK_LOG_LEVEL", "warning")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return orjson.loads(result.stdout) if "--json" in args and code == 0 else result


def emit_and_fail(webhook_uuid: str, n: int, failed: int) -> list[str]:
    """Queue ``n`` contact.created messages; mark the first ``failed`` of them failed."""

    async def main() -> list[str]:
        engine = create_engine(get_settings())
        try:
            async with create_sessionmaker(engine)() as session:
                webhook = (
                    await session.execute(select(Webhook).where(Webhook.uuid == webhook_uuid))
                ).scalar_one()
                items = [{"uuid": str(uuid4())} for _ in range(n)]
                emitted = await events.emit(session, webhook.workspace_id, "contact.created", items)
                await session.execute(
                    update(WebhookMessage)
                    .where(WebhookMessage.uuid.in_(emitted.message_ids[:failed]))
                    .values(status=MessageStatus.FAILED.value, attempt_count=4)
                )
                await session.commit()
                return emitted.message_ids
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_webhook_commands(env: None) -> None:
    workspace = run("workspace", "create", "CLI Org", "--json")["uuid"]
    created = run(
        "webhook",
        "create",
        "--workspace",
        workspace,
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "contact.*",
        "--event",
        "group.created",
        "--description",
        "from the CLI",
        "--json",
    )
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["contact.*", "group.created"]
    assert created["description"] == "from the CLI"

    listed = run("webhook", "list", "--workspace", workspace, "--json")
    assert [w["uuid"] for w in listed] == [created["uuid"]]
    assert all("secret" not in w for w in listed)
    table = run("webhook", "list", "--workspace", workspace)
    assert created["uuid"][:8] in table.output  # (rich wraps long cells at 80 columns)
    assert created["secret"] not in table.output

    ids = emit_and_fail(created["uuid"], 3, failed=2)
    messages = run("webhook", "messages", created["uuid"], "--json")
    assert [m["id"] for m in messages] == list(reversed(ids))
    failed = run("webhook", "messages", created["uuid"], "--status", "failed", "--json")
    assert {m["id"] for m in failed} == set(ids[:2])
    assert "contact.cre" in run("webhook", "messages", created["uuid"]).output

    resent = run("webhook", "resend", ids[0], "--json")
    assert resent["id"] == ids[0]
    assert resent["status"] == "pending"
    assert run("webhook", "recover", created["uuid"], "--since", "2000-01-01", "--json") == {
        "recovered": 1
    }
    statuses = {m["status"] for m in run("webhook", "messages", created["uuid"], "--json")}
    assert statuses == {"pending"}


def test_webhook_command_errors(env: None) -> None:
    workspace = run("workspace", "create", "CLI Org", "--json")["uuid"]
    result = run(
        "webhook",
        "create",
        "--workspace",
        workspace,
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "contact.exploded",
        code=2,
    )
    assert "Unknown event type: contact.exploded." in result.output
    result = run("webhook", "messages", str(uuid4()), code=1)
    assert "No webhook" in result.output
    result = run("webhook", "resend", "msg_nope", code=1)
    assert "No message" in result.output
    result = run(
        "webhook", "create", "--workspace", workspace, "--url", "x", "--event", "*", code=2
    )
    assert "url" in result.output
