"""The API documentation pages in a real browser (SQLite and PostgreSQL): the REST v2
explorer's *Try it* form, and Swagger UI at ``/docs`` going from a v3 API key to a JWT
(``POST /api/v3/jwts``) to an authorized ``GET /api/v3/me``, every asset from this server.

``jwt_then_authorized_call(page, api_key)`` is the Swagger part on its own, for scenarios that
create the key elsewhere (the portal's API page)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import Live, shot
from tests.test_e2e_serve import cli_json

STATUS_200 = re.compile(r"\b200\b")


def create_v3_key(live: Live) -> str:
    """A v3 API key for the demo administrator, through the CLI."""
    workspaces = cli_json(live.env, "workspace", "list")
    assert isinstance(workspaces, list)
    assert workspaces
    uuid = str(workspaces[0]["uuid"])
    created = cli_json(
        live.env,
        "token",
        "create",
        "--workspace",
        uuid,
        "--user",
        live.email,
        "--api-version",
        "v3",
        "--name",
        "Swagger test key",
    )
    assert isinstance(created, dict)
    key = str(created["token"])
    assert key.startswith("rd_")
    return key


def external_requests(page: Page, base: str) -> list[str]:
    """Every URL the page requests from another origin (none expected: no CDN)."""
    origin = urlsplit(base).netloc
    seen: list[str] = []

    def record(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc != origin:
            seen.append(request.url)

    page.on("request", record)
    return seen


def console_errors(page: Page) -> list[str]:
    """Console errors (a CSP violation, a failed asset) while the page is used."""
    seen: list[str] = []
    page.on(
        "console", lambda message: seen.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def operation(page: Page, method: str, path: str) -> Locator:
    """A Swagger UI operation block by method and exact path."""
    summary_path = page.locator(".opblock-summary-path").filter(
        has_text=re.compile(rf"^{re.escape(path)}$")
    )
    return page.locator(f".opblock.opblock-{method.lower()}").filter(has=summary_path).first


def open_and_execute(block: Locator, body: str | None = None) -> Locator:
    """Expand an operation, *Try it out* (already on with tryItOutEnabled), fill the JSON body,
    *Execute*; returns the live response row."""
    control = block.locator(".opblock-summary-control").first
    if control.get_attribute("aria-expanded") != "true":
        control.click()
    try_out = block.get_by_role("button", name="Try it out")
    if try_out.count():
        try_out.click()
    if body is not None:
        editor = block.locator("textarea.body-param__text")
        expect(editor).to_be_visible()
        editor.fill(body)
    block.get_by_role("button", name="Execute").click()
    response = block.locator(".live-responses-table .response").first
    expect(response).to_be_visible()
    return response


def jwt_then_authorized_call(page: Page, api_key: str) -> str:
    """In /docs: ``POST /api/v3/jwts`` with ``api_key`` (200, a token in the response body),
    *Authorize* with that JWT under Bearer, then ``GET /api/v3/me`` answers 200 with the key's
    user. Returns the JWT. Opens /docs unless the page is already there."""
    if urlsplit(page.url).path != "/docs":
        page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Relaydesk API")

    jwts = operation(page, "post", "/api/v3/jwts")
    with page.expect_response(re.compile(r"/api/v3/jwts$")) as exchanged:
        response = open_and_execute(jwts, json.dumps({"api_key": api_key}))
    assert exchanged.value.status == 200
    expect(response.locator(".response-col_status")).to_contain_text(STATUS_200)
    shown = response.locator(".response-col_description pre").first
    expect(shown).to_contain_text('"token"')
    # read the JWT as a user would: from the response body Swagger shows
    token = str(json.loads(shown.inner_text())["token"])
    assert token.count(".") == 2
    assert token == exchanged.value.json()["token"]

    page.locator(".scheme-container").get_by_role("button", name="Authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")  # "Available authorizations"
    expect(dialog).to_be_visible()
    bearer = dialog.locator(".auth-container").filter(
        has=page.locator("h4", has_text=re.compile(r"^Bearer"))
    )
    logout = bearer.get_by_role("button", name="Logout")
    if logout.count():  # authorized earlier (persistAuthorization): replace that credential
        logout.click()
    bearer.get_by_role("textbox").fill(token)  # labelled "Value:" (aria-label auth-bearer-value)
    bearer.get_by_role("button", name="Apply credentials").click()  # the "Authorize" button
    expect(bearer.get_by_role("heading", name="Authorized")).to_be_visible()
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).to_be_hidden()

    me = operation(page, "get", "/api/v3/me")
    with page.expect_request(re.compile(r"/api/v3/me$")) as sent:
        response = open_and_execute(me)
    assert sent.value.headers.get("authorization") == f"Bearer {token}"
    expect(response.locator(".response-col_status")).to_contain_text(STATUS_200)
    expect(response.locator(".response-col_description pre").first).to_contain_text('"jwt"')
    return token


def test_explorer_try_it(page: Page, live: Live, request: pytest.FixtureRequest) -> None:
    outside = external_requests(page, live.base)
    errors = console_errors(page)
    page.goto("/api/v2/")
    expect(page.get_by_test_id("api-host")).to_have_attribute("href", live.base)
    expect(page.get_by_role("link", name="/api/v2/contacts.json")).to_be_visible()
    shot(page, request, "explorer")

    # missing token: told so, nothing sent
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text("API token")

    page.get_by_label("Endpoint").select_option("workspace")
    page.get_by_label("API token").fill(live.token)
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text(STATUS_200)
    body = json.loads(page.get_by_test_id("try-response").inner_text())
    assert body["name"] == "Demo Workspace"
    shot(page, request, "explorer-workspace-200")

    page.get_by_label("Endpoint").select_option("contacts")
    page.get_by_label("Query string").fill("?limit=1")
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text("contacts.json?limit=1")
    expect(page.get_by_test_id("try-status")).to_contain_text(STATUS_200)
    assert "results" in json.loads(page.get_by_test_id("try-response").inner_text())

    # a bad token: the API's 403 is shown
    page.get_by_label("API token").fill("rd_not_a_real_token")
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text(re.compile(r"\b403\b"))

    # the endpoint page: the same form, fixed to its endpoint; the token stayed in the tab
    page.get_by_label("API token").fill(live.token)
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text(STATUS_200)
    page.goto("/api/v2/contacts")
    expect(page.get_by_test_id("api-host")).to_have_attribute("href", live.base)
    expect(page.get_by_label("API token")).to_have_value(live.token)
    page.get_by_role("button", name="Try it").click()
    expect(page.get_by_test_id("try-status")).to_contain_text("/api/v2/contacts.json")
    expect(page.get_by_test_id("try-status")).to_contain_text(STATUS_200)
    shot(page, request, "endpoint-contacts-200")
    assert not outside, outside
    # the bad token's 403 is logged; base.html has no icon link yet (Chromium's /favicon.ico)
    assert [e for e in errors if "403" not in e and "404" not in e] == []


def test_explorer_by_keyboard_on_a_narrow_screen(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/api/v2/")
    page.get_by_label("Endpoint").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Query string")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("API token")).to_be_focused()
    page.keyboard.type(live.token)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("try-status")).to_contain_text(STATUS_200)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width  # nothing forces sideways scrolling of the page
    shot(page, request, "explorer-narrow")


def test_swagger_jwt_then_authorized_call(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    api_key = create_v3_key(live)
    outside = external_requests(page, live.base)
    errors = console_errors(page)
    page.goto("/docs")
    expect(page).to_have_title(re.compile("API documentation"))
    expect(page.get_by_role("heading", name="API documentation", level=1)).to_be_visible()
    expect(page.get_by_test_id("api-host")).to_have_attribute("href", live.base)
    expect(page.get_by_role("heading", name="How to authorize")).to_be_visible()
    expect(operation(page, "post", "/api/v3/jwts")).to_be_visible()
    folder = shot(page, request, "docs-loaded").parent
    page.screenshot(path=str(folder / "docs-loaded-top.png"))  # the viewport: host, how-to

    jwt_then_authorized_call(page, api_key)
    shot(page, request, "authorized-call-200")
    operation(page, "post", "/api/v3/jwts").screenshot(path=str(folder / "jwts-executed.png"))
    operation(page, "get", "/api/v3/me").screenshot(path=str(folder / "authorized-me-200.png"))
    # v3 first: the JWT exchange, then "who am I", then everything else
    tags = page.locator(".opblock-tag-section h3").all_inner_texts()
    assert [t.split()[0] for t in tags[:2]] == ["jwts", "me"], tags[:3]

    # persistAuthorization: still authorized after a reload
    page.reload()
    expect(page.locator(".scheme-container .btn.authorize.locked")).to_be_visible()
    assert not outside, outside
    # Swagger UI's own notice about "_" in operation ids in a deep link (#/me/get_me_…)
    assert [e for e in errors if not e.startswith("Deprecated: escaping deep link")] == []


def test_docs_by_keyboard_on_a_narrow_screen(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/docs")
    expect(page.get_by_test_id("api-host")).to_be_visible()
    expect(operation(page, "post", "/api/v3/jwts")).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the API reference")
    expect(skip).to_be_focused()
    # keyboard only: open the JWT exchange from its summary button
    control = operation(page, "post", "/api/v3/jwts").locator(".opblock-summary-control")
    control.focus()
    page.keyboard.press("Enter")
    expect(control).to_have_attribute("aria-expanded", "true")
    expect(
        operation(page, "post", "/api/v3/jwts").get_by_role("button", name="Execute")
    ).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, request, "docs-narrow")
    assert width <= 375 + 1, width
