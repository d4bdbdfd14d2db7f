"""Browser tests: Playwright for Python driving Debian's Chromium against a real
``relaydesk serve`` (one per module and database backend), demo workspace included.

Chromium: ``apt-get install -y chromium`` (``.ci/run`` installs it). Without it (or without
the ``playwright`` package) these tests skip with the reason, unless ``REQUIRE_SERVICES=1``,
where that is a failure. Every scenario saves screenshots under
``test-results/browser/<test name>/`` (``shot(page, request, "name")``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.services import PG_HOST, PG_PORT, need, services_required
from tests.test_e2e_serve import fresh_database, server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "password"


def _unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(f"{reason} (apt-get install -y chromium; pip install playwright)")


@dataclass
class Live:
    """A running ``relaydesk serve``: its base URL, the demo login and company token."""

    base: str
    backend: str
    email: str
    password: str
    token: str  # the demo company token (v2)
    env: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    backend = request.param
    if backend == "postgresql":
        need("PostgreSQL", PG_HOST, PG_PORT)
    tmp = tmp_path_factory.mktemp(f"live-{backend}")
    with fresh_database(backend, tmp) as env:
        env = {
            **env,
            "RELAYDESK_WEBHOOK_ALLOW_PRIVATE": "1",  # webhooks to a loopback sink
            "RELAYDESK_WEBHOOK_RETRY_SCHEDULE": "0.2,0.4,0.8",
            "RELAYDESK_WEBHOOK_POLL_SECONDS": "0.05",
        }
        with server(env, tmp) as (base, out, _log):
            banner = out.read_text()
            token = re.search(r"company token\s*:\s*(rd_\w+)", banner)
            login = re.search(r"admin login\s*:\s*(\S+) / (\S+)", banner)
            assert token, banner
            assert login, banner
            yield Live(base, backend, login.group(1), login.group(2), token.group(1), env)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API keeps its event loop marked as running
    # in this thread while it is open, and pytest-asyncio's async tests in later modules
    # could not start theirs.
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    context = browser.new_context(base_url=live.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def shot(page: Page, request: pytest.FixtureRequest, name: str, **options: Any) -> Path:
    """Save a screenshot as test-results/browser/<test name>/<name>.png. With
    ``RELAYDESK_DOCS_SCREENSHOTS=DIR`` (docs/portal.md), the SQLite run also writes
    DIR/<name>.png: the documentation's pictures come from the tests."""
    folder = RESULTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, **options)
    docs = os.environ.get("RELAYDESK_DOCS_SCREENSHOTS")
    if docs and request.node.name.endswith("[sqlite]"):
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(docs) / f"{name}.png")
    return path


def log_in(page: Page, live: Live, email: str | None = None, password: str | None = None) -> None:
    """Through the login form (fields ``email``, ``password``)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email or live.email)
    page.get_by_label("Password").fill(password or live.password)
    page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()
    page.wait_for_load_state()
