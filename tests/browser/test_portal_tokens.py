"""Setup > API/Developers in a real browser: create a token (shown once), use it, delete it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, log_in, shot

NARROW = {"width": 390, "height": 844}


def _workspace(live: Live, token: str) -> int:
    response = httpx.get(
        f"{live.base}/api/v2/workspace.json", headers={"Authorization": f"Token {token}"}
    )
    return response.status_code


def _no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_create_use_and_delete_a_token(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    name = f"browser {uuid.uuid4().hex[:6]}"
    for _ in range(5):  # some traffic for the usage counters and the chart
        assert _workspace(live, live.token) == 200
    # /setup needs a login: the form brings us back to the page afterwards
    page.goto("/setup")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsetup%2Fapi"))
    page.get_by_label("Email").fill(live.email)
    page.get_by_label("Password").fill(live.password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/setup/api$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup").click()
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="API/Developers").click()
    expect(page).to_have_url(re.compile(r"/setup/api"))
    expect(page.get_by_role("heading", name="API/Developers", level=1)).to_be_visible()
    expect(page.get_by_test_id("api-host")).to_have_attribute("href", re.compile(r"^https?://"))
    expect(page.get_by_role("link", name="API documentation")).to_have_attribute("href", "/docs")
    versions = page.get_by_role("navigation", name="API Version")
    expect(versions.get_by_role("link", name="Standard (v2)")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    # the live server counts requests (memory limiter): this minute, today, the 24 h chart
    expect(page.get_by_test_id("usage-minute")).to_be_visible()
    expect(page.get_by_test_id("usage-day")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Requests per hour"))).to_be_visible()
    expect(page.get_by_test_id("usage-day")).not_to_contain_text(re.compile(r"^0 of"))
    shot(page, request, "list")

    page.get_by_role("button", name="+ Create New Token").click()
    page.get_by_label("Name").fill(name)
    expect(page.get_by_label("Kind")).to_have_value("personal")
    page.get_by_label("Expires in (days)").fill("30")
    shot(page, request, "form")
    page.get_by_role("button", name="Create token").click()

    created = page.get_by_test_id("new-token")
    expect(created).to_be_visible()
    secret = created.inner_text().strip()
    assert secret.startswith("rd_")
    expect(page.get_by_text("shown only once")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.get_by_role("button", name=f"Delete token {name}")).to_be_visible()
    shot(page, request, "created")
    assert _workspace(live, secret) == 200

    # a reload is a plain GET of the list: no second token, no plaintext
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_role("button", name=f"Delete token {name}")).to_have_count(1)

    # narrow screen: the table becomes cards, nothing scrolls sideways
    page.set_viewport_size(NARROW)
    expect(page.get_by_role("button", name=f"Delete token {name}")).to_be_visible()
    assert _no_horizontal_scroll(page)
    shot(page, request, "list-narrow")

    # the trash button asks first: Cancel (focused) keeps the token
    page.get_by_role("button", name=f"Delete token {name}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Delete token {name}? Apps using it stop working at once.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    shot(page, request, "confirm-narrow")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _workspace(live, secret) == 200

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name=f"Delete token {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"Token {name} deleted.")).to_be_visible()
    expect(page.get_by_role("button", name=f"Delete token {name}")).to_have_count(0)
    shot(page, request, "deleted")
    assert _workspace(live, secret) == 403


def test_experimental_api_key_by_keyboard(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    name = f"v3 key {uuid.uuid4().hex[:6]}"
    log_in(page, live)
    page.goto("/setup")
    page.get_by_role("navigation", name="API Version").get_by_role(
        "link", name="Experimental (v3)"
    ).click()
    expect(page).to_have_url(re.compile(r"version=v3"))
    create = page.get_by_role("button", name="Create New API Key")
    expect(create).to_have_class(re.compile(r"\borange\b"))
    create.focus()
    page.keyboard.press("Enter")
    page.get_by_label("Name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Enter")  # submits the form
    created = page.get_by_test_id("new-token")
    expect(created).to_be_visible()
    secret = created.inner_text().strip()
    shot(page, request, "v3-created")
    response = httpx.get(f"{live.base}/api/v3/usage", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text

    # the choice is remembered: the list opens on Experimental again
    page.goto("/setup/api")
    expect(
        page.get_by_role("navigation", name="API Version").get_by_role(
            "link", name="Experimental (v3)"
        )
    ).to_have_attribute("aria-current", "page")
    button = page.get_by_role("button", name=f"Delete token {name}")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Delete", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Token {name} deleted.")).to_be_visible()
    shot(page, request, "v3-deleted")


def test_experimental_key_then_docs_jwt_authorize_and_v3_call(
    page: Page, live: Live, request: pytest.FixtureRequest
) -> None:
    """The issue's second scenario end to end: log in → Setup → API/Developers → switch to
    Experimental → Create New API Key → open the docs → ``jwts`` Try it out → Authorize with
    the JWT → a v3 call answers 200."""
    from tests.browser.test_docs import jwt_then_authorized_call

    log_in(page, live)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup").click()
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="API/Developers").click()
    versions = page.get_by_role("navigation", name="API Version")
    versions.get_by_role("link", name="Experimental (v3)").click()
    expect(versions.get_by_role("link", name="Experimental (v3)")).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_role("button", name="Create New API Key").click()
    page.get_by_label("Name").fill(f"docs {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-token").inner_text().strip()
    assert key.startswith("rd_")
    shot(page, request, "v3-key-created")
    page.get_by_role("link", name="API documentation").click()
    expect(page).to_have_url(re.compile(r"/docs$"))
    jwt_then_authorized_call(page, key)
    shot(page, request, "v3-call-200")
