"""Setup > Webhooks in the portal: list, add (secret shown once), validation and the SSRF guard
as form errors, edit, disable/re-enable, rotate, test events, the message log (filter, pages,
attempts), resend, recover, delete; workspace isolation, administrators only for changes,
CSRF. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.infra.auth.passwords import hash_password
from relaydesk.kit.time import utcnow
from relaydesk.models import MessageStatus, User, Webhook, WebhookAttempt, WebhookMessage
from relaydesk.platform.webhooks import events
from tests.conftest import Tenant, World

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'<code id="webhook-secret" data-testid="webhook-secret">(whsec_[^<]+)</code>')
URL = "http://127.0.0.1:9/hook"
HOOKS = "/setup/webhooks"


# -- helpers ---------------------------------------------------------------------------------


async def set_password(session: AsyncSession, *emails: str) -> None:
    hashed = hash_password(PASSWORD)
    await session.execute(update(User).where(User.email.in_(emails)).values(password_hash=hashed))
    await session.commit()


async def token_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = TOKEN_FIELD.search(page.text)
    assert match is not None
    return match.group(1)


async def log_in(client: httpx.AsyncClient, email: str) -> None:
    token = await token_of(client)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


@pytest.fixture
async def admin(client: httpx.AsyncClient, world: World, session: AsyncSession) -> World:
    """The client signed in as workspace A's administrator."""
    await set_password(session, world.a.admin.email, world.a.viewer.email, world.b.admin.email)
    await log_in(client, world.a.admin.email)
    return world


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def send(
    client: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]
) -> httpx.Response:
    """A form post, repeated names kept (checkbox groups)."""
    return await client.post(path, content=urlencode(fields), headers=FORM)


async def post(
    client: httpx.AsyncClient, path: str, data: dict[str, Any] | list[tuple[str, str]]
) -> httpx.Response:
    """A form post with the page's CSRF token."""
    token = await token_of(client, HOOKS)
    fields = list(data.items()) if isinstance(data, dict) else list(data)
    return await send(client, path, [*fields, ("csrf_token", token)])


def add_form(
    url: str = URL, events_: tuple[str, ...] = ("contact.created",), **extra: str
) -> list[tuple[str, str]]:
    return [("url", url), *(("events", e) for e in events_), *extra.items()]


async def add(client: httpx.AsyncClient, **extra: str) -> tuple[str, str]:
    """Add an endpoint through the form; its (uuid, secret)."""
    response = await post(client, HOOKS, add_form(**extra))
    assert response.status_code == 201, response.text
    secret = SECRET.search(response.text)
    assert secret is not None
    uuid = re.search(r'href="/setup/webhooks/([0-9a-f-]{36})"', response.text)
    assert uuid is not None
    return uuid.group(1), secret.group(1)


async def row(session: AsyncSession, uuid: str) -> Webhook:
    stmt = select(Webhook).where(Webhook.uuid == uuid).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def message(session: AsyncSession, msg_id: str) -> WebhookMessage:
    stmt = (
        select(WebhookMessage)
        .where(WebhookMessage.uuid == msg_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def count_webhooks(session: AsyncSession) -> int:
    return (
        await session.execute(
            select(func.count()).select_from(Webhook).where(Webhook.is_active.is_(True))
        )
    ).scalar_one()


async def flash_after(client: httpx.AsyncClient, response: httpx.Response) -> str:
    """Follow a post's 303 and return the page it leads to (with its one-time message)."""
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return html.unescape(page.text)


async def emit_contacts(session: AsyncSession, tenant: Tenant, n: int) -> list[str]:
    items = [{"uuid": str(uuid4()), "name": f"Contact {i}"} for i in range(n)]
    emitted = await events.emit(session, tenant.id, "contact.created", items)
    await session.commit()
    return emitted.message_ids


# -- sign-in and CSRF ------------------------------------------------------------------------


async def test_login_required(client: httpx.AsyncClient, world: World) -> None:
    for path in (HOOKS, f"{HOOKS}/new", f"{HOOKS}/{uuid4()}"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    token = await token_of(client)  # a valid CSRF pair, but nobody signed in
    response = await client.post(HOOKS, data={"csrf_token": token, "url": URL, "events": "*"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_posts_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client)
    before = (await row(session, uuid)).secret
    for path, data in (
        (HOOKS, add_form()),
        (f"{HOOKS}/{uuid}", add_form(description="changed")),
        (f"{HOOKS}/{uuid}/rotate-secret", []),
        (f"{HOOKS}/{uuid}/test", []),
        (f"{HOOKS}/{uuid}/delete", []),
    ):
        for extra in ([], [("csrf_token", "forged.value")]):
            response = await send(client, path, [*data, *extra])
            assert response.status_code == 403, (path, extra)
            assert "CSRF" in response.text
    assert await count_webhooks(session) == 1
    stored = await row(session, uuid)
    assert stored.secret == before
    assert stored.description == ""
    assert stored.is_active
    count = select(func.count()).select_from(WebhookMessage)
    assert (await session.execute(count)).scalar_one() == 0


# -- list and add ----------------------------------------------------------------------------


async def test_add_shows_the_secret_once(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    page = await client.get(HOOKS)
    assert page.status_code == 200
    assert "<h1>Webhooks</h1>" in page.text
    assert 'href="/setup/webhooks/new"' in page.text
    assert "Add endpoint" in page.text
    assert 'aria-current="page">Webhooks' in page.text

    form = await client.get(f"{HOOKS}/new")
    assert form.status_code == 200
    for needle in (
        'type="url"',
        'name="url"',
        'name="description"',
        'name="custom_data"',
        'value="contact.created"',
        'value="contact.*"',
        "All contact events",
        'value="ticket.created"',
        'value="*"',
        ">URL</label>",
        ">Description</label>",
        ">Custom data (JSON)</label>",
    ):
        assert needle in form.text, needle
    assert 'value="webhook.test"' not in form.text

    response = await post(
        client,
        HOOKS,
        add_form(
            events_=("contact.*", "ticket.created"),
            description="CRM sync",
            custom_data='{"team": "support"}',
        ),
    )
    assert response.status_code == 201, response.text
    secret = SECRET.search(response.text)
    assert secret is not None
    assert 'data-copy="#webhook-secret"' in response.text
    for header in response.headers.get_list("set-cookie"):
        assert secret.group(1) not in header
    stored = (await session.execute(select(Webhook))).scalar_one()
    assert stored.secret == secret.group(1)
    assert stored.url == URL
    assert stored.events == ["contact.*", "ticket.created"]
    assert stored.description == "CRM sync"
    assert stored.custom_data == {"team": "support"}
    assert stored.created_by_id is not None

    listing = await client.get(HOOKS)
    assert URL in listing.text
    assert "CRM sync" in listing.text
    assert 'class="badge healthy"' in listing.text
    assert "0%" in listing.text
    assert 'class="responsive webhooks"' in listing.text
    assert 'data-label="Failure rate"' in listing.text
    detail = await client.get(f"{HOOKS}/{stored.uuid}")
    assert detail.status_code == 200
    for page in (listing, detail):
        assert secret.group(1) not in page.text
        assert "whsec_" not in page.text


@pytest.mark.parametrize(
    ("custom_data", "message"),
    [
        ("[1, 2]", "Must be a JSON object"),
        ('"text"', "Must be a JSON object"),
        ("{not json", "Not valid JSON"),
        ('{"x": "' + "y" * 9000 + '"}', "at most 8192 bytes"),
    ],
)
async def test_invalid_custom_data_keeps_the_input(
    client: httpx.AsyncClient,
    admin: World,
    session: AsyncSession,
    custom_data: str,
    message: str,
) -> None:
    response = await post(client, HOOKS, add_form(description="kept", custom_data=custom_data))
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert message in text
    assert 'id="new-custom-data-errors"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert f'value="{URL}"' in response.text
    assert 'value="kept"' in response.text
    assert custom_data[:50] in text
    assert re.search(r'value="contact.created" checked', response.text)
    assert await count_webhooks(session) == 0


async def test_missing_and_unknown_fields(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    response = await post(client, HOOKS, add_form(events_=()))
    assert response.status_code == 400
    assert "Select at least one event." in response.text
    response = await post(client, HOOKS, add_form(url="", events_=("contact.created",)))
    assert response.status_code == 400
    assert 'id="new-url-errors"' in response.text
    response = await post(client, HOOKS, add_form(events_=("contact.exploded",)))
    assert response.status_code == 400
    assert "Unknown event type: contact.exploded." in response.text
    # kept on the form (in an "Other" group) so it can be unticked
    assert 'value="contact.exploded" checked' in response.text
    response = await post(client, HOOKS, add_form(description="d" * 256))
    assert response.status_code == 400
    assert 'id="new-description-errors"' in response.text
    assert await count_webhooks(session) == 0


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/hook", "https://10.0.0.1/x", "ftp://203.0.114.1/x", "not a url"]
)
async def test_unsafe_urls_are_errors_on_the_url_field(
    client: httpx.AsyncClient,
    admin: World,
    session: AsyncSession,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setattr(app.state.settings, "webhook_allow_private", False)
    response = await post(client, HOOKS, add_form(url=url))
    assert response.status_code == 400, response.text
    errors = re.search(
        r'<ul class="field-errors" id="new-url-errors">(.*?)</ul>', response.text, re.S
    )
    assert errors is not None
    assert "<li>" in errors.group(1)
    assert f'value="{html.escape(url)}"' in response.text
    assert await count_webhooks(session) == 0


# -- one endpoint ----------------------------------------------------------------------------


async def test_detail_and_edit(
    client: httpx.AsyncClient,
    admin: World,
    session: AsyncSession,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uuid, _ = await add(client, description="first")
    detail = await client.get(f"{HOOKS}/{uuid}")
    assert detail.status_code == 200
    text = detail.text
    for needle in (
        '<h2 id="health-heading">Health</h2>',
        'data-testid="webhook-state">healthy',
        "Failure rate",
        ">Send test event</button>",
        ">Rotate secret</button>",
        ">Delete endpoint</button>",
        "data-confirm=",
        "Message log",
        ">Recover failed messages</button>",
        'type="datetime-local"',
        "Since (UTC)",
        "Until (UTC)",
        'value="first"',
        'value="contact.created" checked',
        ">Save changes</button>",
    ):
        assert needle in text, needle

    edit = add_form(
        url=URL + "/v2",
        events_=("group.*", "chat.started"),
        description="second",
        custom_data='{"env": "prod"}',
    )
    response = await post(client, f"{HOOKS}/{uuid}", edit)
    page = await flash_after(client, response)
    assert "Webhook saved." in page
    stored = await row(session, uuid)
    assert stored.url == URL + "/v2"
    assert stored.events == ["group.*", "chat.started"]
    assert stored.description == "second"
    assert stored.custom_data == {"env": "prod"}
    assert '"env": "prod"' in page

    # invalid edits re-render the detail page with the errors; nothing changes
    response = await post(client, f"{HOOKS}/{uuid}", add_form(custom_data="[]"))
    assert response.status_code == 400
    assert 'id="edit-custom-data-errors"' in response.text
    assert "Message log" in response.text
    monkeypatch.setattr(app.state.settings, "webhook_allow_private", False)
    response = await post(client, f"{HOOKS}/{uuid}", add_form(url="https://10.1.2.3/x"))
    assert response.status_code == 400
    assert 'id="edit-url-errors"' in response.text
    assert 'value="https://10.1.2.3/x"' in response.text
    assert (await row(session, uuid)).url == URL + "/v2"
    # the URL unchanged: not checked again
    response = await post(client, f"{HOOKS}/{uuid}", add_form(url=URL + "/v2", description="third"))
    assert response.status_code == 303
    assert (await row(session, uuid)).description == "third"


async def test_disable_and_reenable(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client)
    response = await post(client, f"{HOOKS}/{uuid}", add_form(disabled="1"))
    page = await flash_after(client, response)
    stored = await row(session, uuid)
    assert stored.state == "disabled"
    assert stored.disabled_reason == "Disabled by a user."
    assert 'data-testid="webhook-state">disabled' in page
    assert "Disabled by a user." in page
    assert ">Re-enable endpoint</button>" in page
    assert 'name="disabled" value="1" checked' in page
    listing = await client.get(HOOKS)
    assert 'class="badge disabled"' in listing.text

    # unticking "Disabled" re-enables
    response = await post(client, f"{HOOKS}/{uuid}", add_form())
    assert response.status_code == 303
    assert (await row(session, uuid)).state == "healthy"

    # and so does the Re-enable button
    await post(client, f"{HOOKS}/{uuid}", add_form(disabled="1"))
    assert (await row(session, uuid)).state == "disabled"
    response = await post(client, f"{HOOKS}/{uuid}/enable", [])
    page = await flash_after(client, response)
    assert "re-enabled" in page
    assert (await row(session, uuid)).state == "healthy"
    assert ">Re-enable endpoint</button>" not in page


async def test_rotate_secret(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, first = await add(client)
    response = await post(client, f"{HOOKS}/{uuid}/rotate-secret", [])
    assert response.status_code == 200
    new = SECRET.search(response.text)
    assert new is not None
    assert new.group(1) != first
    assert "Signing secret rotated" in response.text
    assert "previous secret keeps signing" in response.text
    stored = await row(session, uuid)
    assert stored.secret == new.group(1)
    assert stored.previous_secret == first
    detail = await client.get(f"{HOOKS}/{uuid}")
    assert "whsec_" not in detail.text
    assert "Previous secret signs until" in detail.text


async def test_send_test_event_and_the_message_log(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client)
    response = await post(client, f"{HOOKS}/{uuid}/test", [])
    assert response.headers["location"] == f"{HOOKS}/{uuid}#messages"
    page = await flash_after(client, response)
    found = re.search(r"Test event queued as message (msg_[0-9a-f]{32})\.", page)
    assert found is not None
    msg_id = found.group(1)
    assert f'<tr data-message-id="{msg_id}">' in page
    assert "<code>webhook.test</code>" in page
    assert 'data-testid="message-status">pending' in page
    assert 'class="responsive messages"' in page
    assert f'aria-label="Resend {msg_id}">Resend</button>' in page
    stored = await message(session, msg_id)
    assert stored.event_type == "webhook.test"

    # filter by status
    pending = await client.get(f"{HOOKS}/{uuid}", params={"status": "pending"})
    assert msg_id in pending.text
    assert '<option value="pending" selected>' in pending.text
    delivered = await client.get(f"{HOOKS}/{uuid}", params={"status": "delivered"})
    assert msg_id not in delivered.text
    assert "No delivered messages." in delivered.text
    bogus = await client.get(f"{HOOKS}/{uuid}", params={"status": "exploded"})
    assert bogus.status_code == 200
    assert msg_id in bogus.text


async def test_attempts_filter_and_pages(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client)
    ids = await emit_contacts(session, admin.a, 30)
    base = utcnow() - timedelta(hours=1)
    for i, msg_id in enumerate(ids):
        await session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.uuid == msg_id)
            .values(created_on=base + timedelta(seconds=i))
        )
    first = await message(session, ids[0])
    first.status = MessageStatus.FAILED.value
    session.add_all(
        [
            WebhookAttempt(
                message_id=first.id,
                webhook_id=first.webhook_id,
                attempted_on=base,
                status_code=500,
                duration_ms=123,
                error="HTTP 500",
            ),
            WebhookAttempt(
                message_id=first.id,
                webhook_id=first.webhook_id,
                attempted_on=base + timedelta(seconds=1),
                status_code=None,
                duration_ms=5000,
                error="Connection refused",
            ),
        ]
    )
    await session.commit()

    page = await client.get(f"{HOOKS}/{uuid}")
    newest = ids[::-1]
    shown = re.findall(r'<tr data-message-id="(msg_[0-9a-f]{32})">', page.text)
    assert shown == newest[:25]
    older = re.search(r'<a href="([^"]+)#messages" rel="next">Older</a>', page.text)
    assert older is not None
    assert "Newer</a>" not in page.text
    assert older.group(1).startswith(f"{HOOKS}/{uuid}?cursor=")
    page2 = await client.get(html.unescape(older.group(1)))
    shown = re.findall(r'<tr data-message-id="(msg_[0-9a-f]{32})">', page2.text)
    assert shown == newest[25:]
    assert 'rel="prev">Newer</a>' in page2.text
    assert "Older</a>" not in page2.text
    text = html.unescape(page2.text)
    assert "2 attempts" in text
    assert "500" in text
    assert "123 ms" in text
    assert "no response" in text
    assert "Connection refused" in text
    assert "<details>" in text

    failed = await client.get(f"{HOOKS}/{uuid}", params={"status": "failed"})
    shown = re.findall(r'<tr data-message-id="(msg_[0-9a-f]{32})">', failed.text)
    assert shown == [ids[0]]
    # a bad cursor is an empty first page, not an error
    assert (await client.get(f"{HOOKS}/{uuid}", params={"cursor": "nonsense"})).status_code == 200


async def test_resend_and_recover(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client)
    ids = await emit_contacts(session, admin.a, 4)
    base = (utcnow() - timedelta(hours=10)).replace(second=0, microsecond=0)
    for i, msg_id in enumerate(ids):
        await session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.uuid == msg_id)
            .values(
                created_on=base + timedelta(hours=i),
                status=MessageStatus.FAILED.value,
                attempt_count=4,
            )
        )
    await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.uuid == ids[3])
        .values(status=MessageStatus.DELIVERED.value)
    )
    await session.commit()

    response = await post(
        client, f"{HOOKS}/{uuid}/messages/{ids[0]}/resend", [("status", "failed")]
    )
    assert response.headers["location"] == f"{HOOKS}/{uuid}?status=failed#messages"
    page = await flash_after(client, response)
    assert f"Message {ids[0]} queued to be sent again." in page
    stored = await message(session, ids[0])
    assert stored.status == MessageStatus.PENDING
    assert stored.attempt_count == 0
    assert stored.uuid == ids[0]
    # a delivered one is sent again too
    await post(client, f"{HOOKS}/{uuid}/messages/{ids[3]}/resend", [])
    assert (await message(session, ids[3])).status == MessageStatus.PENDING
    await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.uuid == ids[3])
        .values(status=MessageStatus.DELIVERED.value)
    )
    await session.commit()

    # recover [base + 1 h, base + 2 h]: two failed messages
    fmt = "%Y-%m-%dT%H:%M"
    response = await post(
        client,
        f"{HOOKS}/{uuid}/recover",
        {
            "since": (base + timedelta(hours=1)).strftime(fmt),
            "until": (base + timedelta(hours=2)).strftime(fmt),
        },
    )
    page = await flash_after(client, response)
    assert "2 failed messages queued to be sent again." in page
    statuses = [(await message(session, i)).status for i in ids]
    assert statuses == ["pending", "pending", "pending", "delivered"]
    # until left empty: now
    response = await post(
        client, f"{HOOKS}/{uuid}/recover", {"since": base.strftime(fmt), "until": ""}
    )
    assert "0 failed messages queued" in await flash_after(client, response)

    for bad, field in (
        ({"since": "", "until": ""}, "since"),
        ({"since": "yesterday", "until": ""}, "since"),
        ({"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "until"),
    ):
        response = await post(client, f"{HOOKS}/{uuid}/recover", bad)
        assert response.status_code == 400, bad
        assert f'id="recover-{field}-errors"' in response.text, bad
        assert f'value="{bad["since"]}"' in response.text

    # a message of another endpoint of the workspace is not resent from this one
    other, _ = await add(client)
    response = await post(client, f"{HOOKS}/{other}/messages/{ids[3]}/resend", [])
    assert response.status_code == 404
    assert (await message(session, ids[3])).status == MessageStatus.DELIVERED


async def test_delete(client: httpx.AsyncClient, admin: World, session: AsyncSession) -> None:
    uuid, _ = await add(client, description="doomed")
    ids = await emit_contacts(session, admin.a, 1)
    response = await post(client, f"{HOOKS}/{uuid}/delete", [])
    assert response.headers["location"] == HOOKS
    page = await flash_after(client, response)
    assert f"Webhook {URL} deleted." in page
    assert "doomed" not in page
    assert "No endpoints yet." in page
    assert not (await row(session, uuid)).is_active
    assert (await message(session, ids[0])).status == MessageStatus.FAILED
    assert (await client.get(f"{HOOKS}/{uuid}")).status_code == 404
    assert (await post(client, f"{HOOKS}/{uuid}/delete", [])).status_code == 404


# -- workspaces and roles --------------------------------------------------------------------


async def test_another_workspaces_webhooks_are_404(
    client: httpx.AsyncClient, admin: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    # B's administrator adds one (in another browser)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await log_in(other, admin.b.admin.email)
        theirs, _ = await add(other, description="beta only")
        response = await post(other, f"{HOOKS}/{theirs}/test", [])
        their_msg = re.search(r"message (msg_[0-9a-f]{32})", await flash_after(other, response))
        assert their_msg is not None
    mine, _ = await add(client)

    listing = await client.get(HOOKS)
    assert "beta only" not in listing.text
    assert theirs not in listing.text
    assert (await client.get(f"{HOOKS}/{theirs}")).status_code == 404
    assert (await client.get(f"{HOOKS}/not-a-uuid")).status_code == 404
    for path, data in (
        (f"{HOOKS}/{theirs}", add_form(description="hijacked")),
        (f"{HOOKS}/{theirs}/enable", []),
        (f"{HOOKS}/{theirs}/rotate-secret", []),
        (f"{HOOKS}/{theirs}/test", []),
        (f"{HOOKS}/{theirs}/recover", [("since", "2020-01-01T00:00")]),
        (f"{HOOKS}/{theirs}/delete", []),
        (f"{HOOKS}/{theirs}/messages/{their_msg.group(1)}/resend", []),
        (f"{HOOKS}/{mine}/messages/{their_msg.group(1)}/resend", []),
    ):
        response = await post(client, path, data)
        assert response.status_code == 404, path
        assert "No such webhook" in response.text
    stored = await row(session, theirs)
    assert stored.is_active
    assert stored.description == "beta only"
    assert stored.previous_secret is None
    count = (
        select(func.count())
        .select_from(WebhookMessage)
        .where(WebhookMessage.webhook_id == stored.id)
    )
    assert (await session.execute(count)).scalar_one() == 1


async def test_viewers_read_but_cannot_change(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    uuid, _ = await add(client, description="shared")
    await post(client, f"{HOOKS}/{uuid}/test", [])
    client.cookies.clear()
    await log_in(client, admin.a.viewer.email)
    listing = await client.get(HOOKS)
    assert listing.status_code == 200
    assert "shared" in listing.text
    assert 'href="/setup/webhooks/new"' not in listing.text
    assert "Only administrators can add or change endpoints." in listing.text
    detail = await client.get(f"{HOOKS}/{uuid}")
    assert detail.status_code == 200
    assert "<code>webhook.test</code>" in detail.text
    for needle in ("Send test event", "Rotate secret", "Delete endpoint", "Resend", "Save changes"):
        assert needle not in detail.text, needle
    assert (await client.get(f"{HOOKS}/new")).status_code == 403
    for path, data in (
        (HOOKS, add_form()),
        (f"{HOOKS}/{uuid}", add_form(description="changed")),
        (f"{HOOKS}/{uuid}/rotate-secret", []),
        (f"{HOOKS}/{uuid}/test", []),
        (f"{HOOKS}/{uuid}/delete", []),
    ):
        response = await post(client, path, data)
        assert response.status_code == 403, path
        assert "Only administrators can change webhooks." in response.text
    stored = await row(session, uuid)
    assert stored.is_active
    assert stored.description == "shared"
    assert await count_webhooks(session) == 1
