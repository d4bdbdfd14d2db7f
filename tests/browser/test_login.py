"""The portal login form in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, log_in, shot


def test_log_in_and_out(page: Page, live: Live, request: pytest.FixtureRequest) -> None:
    page.goto("/login")
    shot(page, request, "login")
    log_in(page, live, password="wrong password")
    expect(page.get_by_role("alert")).to_be_visible()
    log_in(page, live)
    expect(page).not_to_have_url(re.compile(r"/login"))
    shot(page, request, "logged-in")
