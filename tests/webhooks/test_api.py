"""The webhooks management API (v3): create (secret shown once), validation and the SSRF
guard, permissions, two-workspace isolation, health, disable/re-enable, delete, rotation,
test events, message listing with filters and pages, resend and recover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.kit.parse import parse_datetime
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    MessageStatus,
    Webhook,
    WebhookAttempt,
    WebhookMessage,
    WebhookState,
)
from relaydesk.platform.webhooks import events
from tests.conftest import Tenant, World

HOOKS = "/api/v3/webhooks"
URL = "http://127.0.0.1:9/hook"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(
    client: httpx.AsyncClient, tenant: Tenant, events_: list[str] | None = None, **body: Any
) -> dict[str, Any]:
    body = {"url": URL, "events": events_ or ["contact.*"], **body}
    response = await client.post(HOOKS, json=body, headers=bearer(tenant.company_v3))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def webhook_row(session: AsyncSession, uuid: str) -> Webhook:
    """The row as it is now in the database (the API changed it in another session)."""
    stmt = select(Webhook).where(Webhook.uuid == uuid).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def emit_contacts(session: AsyncSession, tenant: Tenant, n: int) -> list[str]:
    """``n`` contact.created events (one message each per subscribed webhook); message ids."""
    items = [{"uuid": str(uuid4()), "name": f"Contact {i}"} for i in range(n)]
    emitted = await events.emit(session, tenant.id, "contact.created", items)
    await session.commit()
    return emitted.message_ids


async def set_messages(session: AsyncSession, ids: list[str], **values: Any) -> None:
    await session.execute(
        update(WebhookMessage).where(WebhookMessage.uuid.in_(ids)).values(**values)
    )
    await session.commit()


async def message_row(session: AsyncSession, msg_id: str) -> WebhookMessage:
    stmt = (
        select(WebhookMessage)
        .where(WebhookMessage.uuid == msg_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


# -- create and read -------------------------------------------------------------------------


async def test_create_shows_the_secret_once(client: httpx.AsyncClient, world: World) -> None:
    body = {
        "url": URL,
        "events": ["contact.created", "group.*", "contact.created"],
        "description": "CRM sync",
        "custom_data": {"team": "crm", "n": 1},
    }
    response = await client.post(HOOKS, json=body, headers=bearer(world.a.company_v3))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["contact.created", "group.*"]  # duplicates dropped
    assert created["description"] == "CRM sync"
    assert created["custom_data"] == {"team": "crm", "n": 1}
    assert created["state"] == "healthy"
    assert parse_datetime(created["created_on"]) is not None
    assert created["created_on"].endswith("Z")

    detail = await client.get(
        f"{HOOKS}/{created['uuid']}", headers=bearer(world.a.viewer.personal_v3)
    )
    assert detail.status_code == 200
    shown = detail.json()
    assert "secret" not in shown
    assert created["secret"] not in detail.text
    assert shown["health"] == {
        "state": "healthy",
        "failure_rate": 0.0,
        "attempts_in_window": 0,
        "next_probe_on": None,
        "disabled_reason": None,
    }
    listing = await client.get(HOOKS, headers=bearer(world.a.viewer.personal_v3))
    assert listing.status_code == 200
    page = listing.json()
    assert set(page) == {"next", "previous", "results"}
    assert [w["uuid"] for w in page["results"]] == [created["uuid"]]
    assert created["secret"] not in listing.text


async def test_list_pages_newest_first(
    client: httpx.AsyncClient, world: World, app: RelaydeskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [(await create(client, world.a))["uuid"] for _ in range(5)]
    monkeypatch.setattr(app.state.settings, "page_size", 2)
    seen: list[str] = []
    url: str | None = HOOKS
    while url:
        response = await client.get(url, headers=bearer(world.a.company_v3))
        assert response.status_code == 200
        seen += [w["uuid"] for w in response.json()["results"]]
        url = response.json()["next"]
    assert seen == list(reversed(made))


async def test_401_without_a_key(client: httpx.AsyncClient, world: World) -> None:
    for method, path in (
        ("GET", HOOKS),
        ("POST", HOOKS),
        ("GET", f"{HOOKS}/{uuid4()}/messages"),
        ("POST", f"/api/v3/messages/msg_{uuid4().hex}/resend"),
        ("PUT", f"/api/v3/custom_data/contact/{uuid4()}"),
    ):
        response = await client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = await client.get(HOOKS, headers=bearer("rd_not_a_key"))
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "ftp://203.0.114.1/x",
        "not a url",
    ],
)
async def test_unsafe_urls_are_400_on_url(
    client: httpx.AsyncClient,
    world: World,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setattr(app.state.settings, "webhook_allow_private", False)
    response = await client.post(
        HOOKS, json={"url": url, "events": ["*"]}, headers=bearer(world.a.company_v3)
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body["url"], list)
    assert body["url"]
    assert body["errors"]["url"] == body["url"]
    assert body["error"] == "invalid_args"
    # nothing was created
    listing = await client.get(HOOKS, headers=bearer(world.a.company_v3))
    assert listing.json()["results"] == []


async def test_patching_to_an_unsafe_url_is_400(
    client: httpx.AsyncClient, world: World, app: RelaydeskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await create(client, world.a)
    monkeypatch.setattr(app.state.settings, "webhook_allow_private", False)
    response = await client.patch(
        f"{HOOKS}/{created['uuid']}",
        json={"url": "https://10.0.0.1/x"},
        headers=bearer(world.a.company_v3),
    )
    assert response.status_code == 400
    assert "url" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": URL, "events": ["contact.exploded"]}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": "contact.created"}, "events"),
        ({"url": URL, "events": [1]}, "events.0"),
        ({"url": URL}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": URL, "events": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"url": URL + "/" + "x" * 2000, "events": ["*"]}, "url"),
        ({"url": URL, "events": ["*"], "description": "d" * 256}, "description"),
        ({"url": URL, "events": ["*"], "custom_data": {"x": "y" * 9000}}, "custom_data"),
        ({"url": URL, "events": ["*"], "custom_data": ["not", "an", "object"]}, "custom_data"),
        ({"url": URL, "events": ["*"], "custom_data": {"n": 2**70}}, "custom_data"),
        ({"url": URL + "\x00", "events": ["*"]}, "url"),
    ],
)
async def test_create_validation(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], field: str
) -> None:
    response = await client.post(HOOKS, json=body, headers=bearer(world.a.company_v3))
    assert response.status_code == 400, response.text
    data = response.json()
    assert field in data["errors"], data
    assert data[field] == data["errors"][field]


async def test_unknown_event_type_is_named(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        HOOKS,
        json={"url": URL, "events": ["contact.created", "contact.exploded"]},
        headers=bearer(world.a.company_v3),
    )
    assert response.status_code == 400
    assert response.json()["events"] == ["Unknown event type: contact.exploded."]


# -- permissions and isolation ---------------------------------------------------------------


async def test_reads_take_any_key_writes_need_admin(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(client, world.a)
    uuid = created["uuid"]
    [msg_id] = await emit_contacts(session, world.a, 1)
    for token in (world.a.viewer.personal_v3, world.a.editor.personal_v3):
        headers = bearer(token)
        for path in (
            HOOKS,
            f"{HOOKS}/{uuid}",
            f"{HOOKS}/{uuid}/messages",
            f"/api/v3/messages/{msg_id}",
        ):
            assert (await client.get(path, headers=headers)).status_code == 200, path
        writes = [
            ("POST", HOOKS, {"url": URL, "events": ["*"]}),
            ("PATCH", f"{HOOKS}/{uuid}", {"description": "x"}),
            ("PATCH", f"{HOOKS}/{uuid}", {"disabled": True}),
            ("DELETE", f"{HOOKS}/{uuid}", None),
            ("POST", f"{HOOKS}/{uuid}/rotate-secret", None),
            ("POST", f"{HOOKS}/{uuid}/test", None),
            ("POST", f"{HOOKS}/{uuid}/recover", {"since": "2020-01-01T00:00:00Z"}),
            ("POST", f"/api/v3/messages/{msg_id}/resend", None),
        ]
        for method, path, body in writes:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (token, method, path, response.text)
            assert response.json()["error"] == "forbidden"
    # an administrator's personal key may write
    response = await client.patch(
        f"{HOOKS}/{uuid}", json={"description": "ok"}, headers=bearer(world.a.admin.personal_v3)
    )
    assert response.status_code == 200
    assert response.json()["description"] == "ok"
    row = await webhook_row(session, uuid)
    assert row.is_active
    assert row.secret == created["secret"]


async def test_workspaces_are_isolated(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    mine = await create(client, world.a)
    theirs = await create(client, world.b)
    [msg_id] = await emit_contacts(session, world.a, 1)
    b = bearer(world.b.company_v3)
    listing = await client.get(HOOKS, headers=b)
    assert [w["uuid"] for w in listing.json()["results"]] == [theirs["uuid"]]
    uuid = mine["uuid"]
    for method, path, body in [
        ("GET", f"{HOOKS}/{uuid}", None),
        ("PATCH", f"{HOOKS}/{uuid}", {"description": "mine now"}),
        ("DELETE", f"{HOOKS}/{uuid}", None),
        ("POST", f"{HOOKS}/{uuid}/rotate-secret", None),
        ("POST", f"{HOOKS}/{uuid}/test", None),
        ("GET", f"{HOOKS}/{uuid}/messages", None),
        ("POST", f"{HOOKS}/{uuid}/recover", {"since": "2020-01-01T00:00:00Z"}),
        ("GET", f"/api/v3/messages/{msg_id}", None),
        ("POST", f"/api/v3/messages/{msg_id}/resend", None),
    ]:
        response = await client.request(method, path, json=body, headers=b)
        assert response.status_code == 404, (method, path, response.text)
    # A's message only went to A's webhook; B's webhook got nothing
    counts = dict(
        (
            await session.execute(
                select(WebhookMessage.workspace_id, func.count()).group_by(
                    WebhookMessage.workspace_id
                )
            )
        ).all()
    )
    assert counts == {world.a.id: 1}
    row = await webhook_row(session, uuid)
    assert row.is_active
    assert row.description == ""


@pytest.mark.parametrize("ref", ["nope", "", "0", f"{uuid4()}x", "%00"])
async def test_bad_references_are_404(client: httpx.AsyncClient, world: World, ref: str) -> None:
    headers = bearer(world.a.company_v3)
    assert (await client.get(f"{HOOKS}/{ref}x", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v3/messages/{ref}x", headers=headers)).status_code == 404


# -- change, disable, delete, rotate ---------------------------------------------------------


async def test_patch_changes_only_what_is_given(client: httpx.AsyncClient, world: World) -> None:
    created = await create(client, world.a, description="before", custom_data={"a": 1})
    response = await client.patch(
        f"{HOOKS}/{created['uuid']}",
        json={"events": ["label.created"], "custom_data": {"b": 2}},
        headers=bearer(world.a.company_v3),
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["events"] == ["label.created"]
    assert changed["custom_data"] == {"b": 2}
    assert changed["description"] == "before"
    assert changed["url"] == URL
    assert changed["modified_on"] >= created["modified_on"]
    assert "health" in changed
    response = await client.patch(
        f"{HOOKS}/{created['uuid']}",
        json={"url": "http://127.0.0.1:10/other", "description": "after"},
        headers=bearer(world.a.company_v3),
    )
    assert response.json()["url"] == "http://127.0.0.1:10/other"
    assert response.json()["description"] == "after"
    for bad in ({"events": []}, {"nope": 1}, {"events": ["bogus.*"]}, {"disabled": "maybe"}):
        response = await client.patch(
            f"{HOOKS}/{created['uuid']}", json=bad, headers=bearer(world.a.company_v3)
        )
        assert response.status_code == 400, bad


async def test_disable_by_hand_and_reenable(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(client, world.a)
    uuid = created["uuid"]
    headers = bearer(world.a.company_v3)
    response = await client.patch(f"{HOOKS}/{uuid}", json={"disabled": True}, headers=headers)
    assert response.status_code == 200
    health = response.json()["health"]
    assert health["state"] == "disabled"
    assert health["disabled_reason"]
    assert response.json()["state"] == "disabled"
    # queued messages wait (a disabled webhook gets no new events, but its queue is kept)
    queued = await events.emit(
        session,
        world.a.id,
        "contact.created",
        [{"uuid": str(uuid4())}],
        only_webhook_id=(await webhook_row(session, uuid)).id,
    )
    await session.commit()
    later = utcnow() + timedelta(hours=1)
    await set_messages(session, queued.message_ids, next_attempt_on=later)
    await session.execute(
        update(Webhook)
        .where(Webhook.uuid == uuid)
        .values(failing_since=utcnow() - timedelta(days=6), next_probe_on=later)
    )
    await session.commit()

    before = utcnow()
    response = await client.patch(f"{HOOKS}/{uuid}", json={"disabled": False}, headers=headers)
    assert response.status_code == 200
    assert response.json()["health"] == {
        "state": "healthy",
        "failure_rate": 0.0,
        "attempts_in_window": 0,
        "next_probe_on": None,
        "disabled_reason": None,
    }
    row = await webhook_row(session, uuid)
    assert row.state == WebhookState.HEALTHY
    assert row.failing_since is None
    assert row.next_probe_on is None
    assert row.disabled_reason is None
    assert row.window_start_on is not None
    assert row.window_start_on >= before - timedelta(seconds=1)
    message = await message_row(session, queued.message_ids[0])
    assert message.status == MessageStatus.PENDING
    assert message.next_attempt_on <= utcnow()


async def test_health_counts_the_window(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(client, world.a)
    webhook_id = (await webhook_row(session, created["uuid"])).id
    [msg_id] = await emit_contacts(session, world.a, 1)
    message_id = (await message_row(session, msg_id)).id
    now = utcnow()
    for i, ok in enumerate([False, False, False, True]):
        session.add(
            WebhookAttempt(
                message_id=message_id,
                webhook_id=webhook_id,
                attempted_on=now - timedelta(seconds=10 - i),
                status_code=200 if ok else 500,
                duration_ms=5,
                succeeded=ok,
            )
        )
    # outside the window: not counted
    session.add(
        WebhookAttempt(
            message_id=message_id,
            webhook_id=webhook_id,
            attempted_on=now - timedelta(hours=2),
            status_code=500,
            succeeded=False,
        )
    )
    probe = now + timedelta(seconds=30)
    row = await webhook_row(session, created["uuid"])
    row.state = WebhookState.THROTTLED.value
    row.next_probe_on = probe
    row.window_start_on = now - timedelta(hours=3)
    await session.commit()
    response = await client.get(
        f"{HOOKS}/{created['uuid']}", headers=bearer(world.a.viewer.personal_v3)
    )
    health = response.json()["health"]
    assert health["state"] == "throttled"
    assert health["attempts_in_window"] == 4
    assert health["failure_rate"] == 0.75
    assert health["next_probe_on"] == format_datetime(probe)
    # the window never reaches back before the circuit last closed
    row.window_start_on = now - timedelta(seconds=8, milliseconds=500)
    await session.commit()
    response = await client.get(f"{HOOKS}/{created['uuid']}", headers=bearer(world.a.company_v3))
    assert response.json()["health"]["attempts_in_window"] == 2
    assert response.json()["health"]["failure_rate"] == 0.5


async def test_delete_stops_delivery(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(client, world.a)
    uuid = created["uuid"]
    ids = await emit_contacts(session, world.a, 2)
    await set_messages(session, ids[:1], status=MessageStatus.DELIVERED.value)
    headers = bearer(world.a.company_v3)
    response = await client.delete(f"{HOOKS}/{uuid}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{HOOKS}/{uuid}", headers=headers)).status_code == 404
    assert (await client.delete(f"{HOOKS}/{uuid}", headers=headers)).status_code == 404
    assert (await client.post(f"{HOOKS}/{uuid}/test", headers=headers)).status_code == 404
    assert (await client.get(HOOKS, headers=headers)).json()["results"] == []
    assert (
        await client.post(f"/api/v3/messages/{ids[1]}/resend", headers=headers)
    ).status_code == 404
    row = await webhook_row(session, uuid)
    assert not row.is_active
    statuses = [(await message_row(session, i)).status for i in ids]
    assert statuses == [MessageStatus.DELIVERED, MessageStatus.FAILED]
    # new events no longer reach it
    assert await emit_contacts(session, world.a, 1) == []


async def test_rotate_secret(
    client: httpx.AsyncClient, world: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    created = await create(client, world.a)
    before = utcnow()
    response = await client.post(
        f"{HOOKS}/{created['uuid']}/rotate-secret", headers=bearer(world.a.company_v3)
    )
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    row = await webhook_row(session, created["uuid"])
    assert row.secret == rotated["secret"]
    assert row.previous_secret == created["secret"]
    assert row.previous_secret_expires_on is not None
    overlap = timedelta(seconds=app.state.settings.webhook_secret_overlap_seconds)
    assert before + overlap <= row.previous_secret_expires_on <= utcnow() + overlap
    assert rotated["previous_secret_expires_on"] == format_datetime(row.previous_secret_expires_on)
    detail = await client.get(f"{HOOKS}/{created['uuid']}", headers=bearer(world.a.company_v3))
    assert rotated["secret"] not in detail.text
    assert created["secret"] not in detail.text


# -- test events and messages ----------------------------------------------------------------


async def test_test_event_goes_to_that_webhook_only(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    target = await create(client, world.a, ["label.deleted"])  # its filter lacks webhook.test
    await create(client, world.a, ["*"])  # takes everything, but not this
    response = await client.post(
        f"{HOOKS}/{target['uuid']}/test", headers=bearer(world.a.company_v3)
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["id"].startswith("msg_")
    assert queued["event_id"].startswith("evt_")
    webhook_id = (await webhook_row(session, target["uuid"])).id
    rows = (await session.execute(select(WebhookMessage))).scalars().all()
    assert len(rows) == 1
    assert rows[0].webhook_id == webhook_id
    assert rows[0].uuid == queued["id"]
    assert rows[0].event_type == "webhook.test"
    assert rows[0].status == MessageStatus.PENDING

    response = await client.get(
        f"/api/v3/messages/{queued['id']}", headers=bearer(world.a.viewer.personal_v3)
    )
    assert response.status_code == 200
    message = response.json()
    assert message["id"] == queued["id"]
    assert message["event_id"] == queued["event_id"]
    assert message["webhook"] == target["uuid"]
    assert message["status"] == "pending"
    assert message["attempts"] == []
    payload = message["payload"]
    assert payload["id"] == queued["event_id"]
    assert payload["type"] == "webhook.test"
    assert payload["workspace"] == {"uuid": world.a.uuid, "name": world.a.name}
    assert payload["data"]["webhook"] == {"uuid": target["uuid"]}
    assert payload["data"]["message"] == "This is a test event from Relaydesk."


async def test_messages_filters_and_pages(
    client: httpx.AsyncClient,
    world: World,
    session: AsyncSession,
    app: RelaydeskApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = await create(client, world.a)
    other = await create(client, world.a, ["group.*"])
    ids = await emit_contacts(session, world.a, 7)
    assert len(ids) == 7
    # spread creation times: ids[i] created i hours after base (01:00 yesterday, so that every
    # message is created after midnight of base's date whatever the time of day the test runs)
    base = (utcnow() - timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    for i, msg_id in enumerate(ids):
        await set_messages(session, [msg_id], created_on=base + timedelta(hours=i))
    await set_messages(session, ids[:2], status=MessageStatus.FAILED.value)
    await set_messages(session, ids[2:3], status=MessageStatus.DELIVERED.value)
    # attempts of one message, inserted out of order: listed oldest first
    first = await message_row(session, ids[0])
    for seconds, code in ((20, 500), (10, None), (30, 503)):
        session.add(
            WebhookAttempt(
                message_id=first.id,
                webhook_id=first.webhook_id,
                attempted_on=base + timedelta(seconds=seconds),
                status_code=code,
                duration_ms=seconds,
                error="connection refused" if code is None else None,
                response="oops" if code else None,
            )
        )
    await session.commit()

    headers = bearer(world.a.viewer.personal_v3)
    path = f"{HOOKS}/{created['uuid']}/messages"
    monkeypatch.setattr(app.state.settings, "page_size", 3)
    seen: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        seen += response.json()["results"]
        url = response.json()["next"]
        pages += 1
    assert pages == 3
    assert [m["id"] for m in seen] == list(reversed(ids))  # newest first
    # and back again
    last_page = await client.get(path, headers=headers)
    second = await client.get(last_page.json()["next"], headers=headers)
    back = await client.get(second.json()["previous"], headers=headers)
    assert [m["id"] for m in back.json()["results"]] == [m["id"] for m in seen[:3]]

    by_id = {m["id"]: m for m in seen}
    oldest = by_id[ids[0]]
    assert oldest["status"] == "failed"
    assert oldest["event_type"] == "contact.created"
    assert oldest["event_id"].startswith("evt_")
    assert oldest["next_attempt_on"] is None
    assert [a["duration_ms"] for a in oldest["attempts"]] == [10, 20, 30]
    assert oldest["attempts"][0] == {
        "attempted_on": format_datetime(base + timedelta(seconds=10)),
        "status_code": None,
        "duration_ms": 10,
        "error": "connection refused",
        "response": None,
    }
    assert oldest["attempts"][1]["status_code"] == 500
    assert oldest["attempts"][1]["response"] == "oops"
    assert by_id[ids[-1]]["status"] == "pending"
    assert by_id[ids[-1]]["next_attempt_on"] is not None
    assert by_id[ids[-1]]["attempts"] == []

    async def listed(**params: str) -> list[str]:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["results"]]

    monkeypatch.setattr(app.state.settings, "page_size", 250)
    assert await listed(status="failed") == [ids[1], ids[0]]
    assert await listed(status="delivered") == [ids[2]]
    assert await listed(status="pending") == list(reversed(ids[3:]))
    since = format_datetime(base + timedelta(hours=2)) or ""
    until = format_datetime(base + timedelta(hours=4)) or ""
    assert await listed(since=since, until=until) == [ids[4], ids[3], ids[2]]
    assert await listed(since=since, status="failed") == []
    assert await listed(until=until[:10]) == []  # a date is midnight UTC
    offset = (base + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"
    assert await listed(since=offset) == [ids[6], ids[5]]
    # the other webhook's listing is its own
    response = await client.get(f"{HOOKS}/{other['uuid']}/messages", headers=headers)
    assert response.json()["results"] == []

    for params in ({"since": "yesterday"}, {"until": "2026-13-45"}, {"status": "lost"}):
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 400, params
        assert set(params) <= set(response.json())


async def test_resend_and_recover_keep_the_id(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    created = await create(client, world.a)
    ids = await emit_contacts(session, world.a, 4)
    base = utcnow() - timedelta(hours=10)
    for i, msg_id in enumerate(ids):
        await set_messages(
            session,
            [msg_id],
            created_on=base + timedelta(hours=i),
            status=MessageStatus.FAILED.value,
            attempt_count=4,
            next_attempt_on=base,
            leased_by="worker-1",
            lease_until=base,
        )
    await set_messages(session, ids[3:], status=MessageStatus.DELIVERED.value)
    headers = bearer(world.a.company_v3)

    before = utcnow()
    response = await client.post(f"/api/v3/messages/{ids[0]}/resend", headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == ids[0]
    assert response.json()["status"] == "pending"
    row = await message_row(session, ids[0])
    assert row.status == MessageStatus.PENDING
    assert row.attempt_count == 0
    assert row.next_attempt_on >= before - timedelta(seconds=1)
    assert row.lease_until is None
    assert row.leased_by is None

    # recover: failed messages created in [since, until]; delivered ones are left alone
    body = {"since": format_datetime(base + timedelta(hours=1)), "until": "2999-01-01"}
    response = await client.post(f"{HOOKS}/{created['uuid']}/recover", json=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"recovered": 2}
    rows = [await message_row(session, i) for i in ids]
    assert [r.status for r in rows] == ["pending", "pending", "pending", "delivered"]
    assert all(r.attempt_count == 0 and r.lease_until is None for r in rows[:3])
    assert [r.uuid for r in rows] == ids
    # nothing failed left in range
    response = await client.post(
        f"{HOOKS}/{created['uuid']}/recover",
        json={"since": format_datetime(base)},
        headers=headers,
    )
    assert response.json() == {"recovered": 0}
    for bad in (
        {"since": "then"},
        {},
        {"since": format_datetime(base), "until": "soon"},
        {"since": "2026-01-02", "until": "2026-01-01"},
        {"since": "2026-01-01", "extra": 1},
    ):
        response = await client.post(
            f"{HOOKS}/{created['uuid']}/recover", json=bad, headers=headers
        )
        assert response.status_code == 400, bad
