"""Setup > Webhooks and Setup > OAuth apps in a real browser, against a real ``relaydesk
serve`` whose embedded worker delivers to a loopback sink (RELAYDESK_WEBHOOK_ALLOW_PRIVATE=1
in the ``live`` fixture)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, log_in, shot


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Sink:
    url: str
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def with_id(self, message_id: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.headers.get("webhook-id") == message_id]

    def wait_for(self, message_id: str, count: int, timeout: float = 20.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_id(message_id)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{message_id}: {len(self.with_id(message_id))} of {count} POSTs")


@pytest.fixture
def sink() -> Iterator[Sink]:
    """An HTTP receiver on 127.0.0.1 answering 200, recording every POST."""
    received: list[Hit] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                received.append(
                    Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Sink(f"http://127.0.0.1:{server.server_address[1]}/hook", received, lock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def reload_until(page: Page, locator: Any, timeout: float = 20.0) -> None:
    """Reload the page until ``locator`` (built from ``page``) is visible."""
    deadline = time.monotonic() + timeout
    while True:
        if locator.count() and locator.first.is_visible():
            return
        assert time.monotonic() < deadline, "timed out waiting for the page to show it"
        time.sleep(0.3)
        page.reload()


def test_webhook_endpoint_test_event_and_resend(
    page: Page, live: Live, sink: Sink, request: pytest.FixtureRequest
) -> None:
    log_in(page, live)
    page.goto("/setup")
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    shot(page, request, "list-empty")

    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("URL", exact=True).fill(sink.url)
    page.get_by_label("Description").fill("Browser sink")
    page.get_by_label("contact.created").check()
    page.get_by_label("Custom data (JSON)").fill('{"team": "qa"}')
    shot(page, request, "add-endpoint")
    page.get_by_role("button", name="Add endpoint").click()

    secret = page.get_by_test_id("webhook-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_\S+$"))
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    shot(page, request, "secret-shown-once")
    plaintext = secret.inner_text()

    page.get_by_role("link", name="Back to webhooks").click()
    expect(page.get_by_role("cell", name="Browser sink", exact=True)).to_be_visible()
    expect(page.locator("text=" + plaintext)).to_have_count(0)
    shot(page, request, "list")

    page.get_by_role("link", name=sink.url).click()
    expect(page.get_by_role("heading", name="Webhook endpoint")).to_be_visible()
    page.get_by_role("button", name="Send test event", exact=True).click()
    flash = page.get_by_role("status").filter(has_text="Test event queued as message")
    expect(flash).to_be_visible()
    found = re.search(r"msg_[0-9a-f]{32}", flash.inner_text())
    assert found is not None
    message_id = found.group(0)

    row = page.locator(f'tr[data-message-id="{message_id}"]')
    reload_until(page, row.get_by_test_id("message-status").filter(has_text="delivered"))
    hits = sink.wait_for(message_id, 1)
    assert hits[0].json["type"] == "webhook.test"
    assert hits[0].json["custom_data"] == {"team": "qa"}
    assert hits[0].headers["webhook-signature"].startswith("v1,")
    row.get_by_text(re.compile(r"\d+ attempts?")).click()  # open the attempts
    expect(row.get_by_role("cell", name="200", exact=True)).to_be_visible()
    shot(page, request, "detail-message-log")

    row.get_by_role("button", name="Resend").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Message {message_id} queued")
    ).to_be_visible()
    hits = sink.wait_for(message_id, 2)
    assert {h.headers["webhook-id"] for h in hits} == {message_id}
    reload_until(page, row.get_by_test_id("message-status").filter(has_text="delivered"))
    shot(page, request, "resent")
    # a narrow screen: the message table becomes labelled rows, nothing scrolls sideways
    page.set_viewport_size({"width": 390, "height": 844})
    expect(row.get_by_role("button", name="Resend")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, request, "detail-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})

    # filter: only failed messages (none)
    page.get_by_label("Status", exact=True).select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No failed messages.")).to_be_visible()

    # delete, through the confirmation dialog
    page.get_by_role("button", name="Delete endpoint").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")  # closes it: nothing deleted
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete endpoint").click()
    dialog.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_role("status").filter(has_text="deleted")).to_be_visible()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()


def test_oauth_apps(page: Page, live: Live, request: pytest.FixtureRequest) -> None:
    log_in(page, live)
    page.goto("/setup")
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="OAuth apps").click()
    expect(page.get_by_role("heading", name="OAuth apps", level=1)).to_be_visible()

    page.get_by_label("Name").fill("Browser app")
    page.get_by_label("Redirect URIs").fill("https://app.example.com/callback\n")
    page.get_by_label("Confidential").check()
    shot(page, request, "oauth-create")
    page.get_by_role("button", name="Create app").click()
    secret = page.get_by_test_id("client-secret")
    expect(secret).to_have_text(re.compile(r"^rdcs_\S+$"))
    client_id = page.get_by_test_id("client-id").inner_text()
    plaintext = secret.inner_text()
    shot(page, request, "oauth-secret-shown-once")

    page.get_by_role("link", name="Back to OAuth apps").click()
    expect(page.get_by_role("cell", name="Browser app", exact=True)).to_be_visible()
    expect(page.get_by_text(client_id)).to_be_visible()
    expect(page.locator("text=" + plaintext)).to_have_count(0)
    shot(page, request, "oauth-apps")

    page.get_by_role("button", name="Delete app Browser app").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete the app Browser app?")
    dialog.get_by_role("button", name="Delete").click()
    expect(
        page.get_by_role("status").filter(has_text="OAuth app Browser app deleted")
    ).to_be_visible()
    expect(page.get_by_text(client_id)).to_have_count(0)
    shot(page, request, "oauth-deleted")
