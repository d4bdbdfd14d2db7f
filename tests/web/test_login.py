"""The portal login: form, CSRF, sessions, logout, failed-login throttling, no open redirect.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from relaydesk.app import RelaydeskApp
from relaydesk.exceptions import Forbidden
from relaydesk.infra.auth.passwords import hash_password
from relaydesk.kit.time import utcnow
from relaydesk.models import LoginFailure, User, WebSession
from relaydesk.web import csrf
from relaydesk.web import session as web_session
from tests.conftest import World

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def admin(world: World, session: AsyncSession) -> str:
    """World A's administrator, with a password."""
    email = world.a.admin.email
    await session.execute(
        update(User).where(User.email == email).values(password_hash=hash_password(PASSWORD))
    )
    await session.commit()
    return email


async def form_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    assert page.status_code == 200
    match = TOKEN_FIELD.search(page.text)
    assert match is not None
    return match.group(1)


async def login(
    client: httpx.AsyncClient, email: str, password: str, **extra: str
) -> httpx.Response:
    token = await form_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


async def signed_in_as(client: httpx.AsyncClient) -> str | None:
    page = await client.get("/login")
    match = re.search(r"signed in as <strong>([^<]+)</strong>", page.text)
    return match.group(1) if match else None


# -- the form and CSRF -----------------------------------------------------------------------


async def test_form_has_fields_and_sets_csrf_cookie(client: httpx.AsyncClient) -> None:
    page = await client.get("/login?next=/oauth/authorize%3Fclient_id%3Dx")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for field in ('name="email"', 'name="password"', 'name="csrf_token"', 'name="next"'):
        assert field in page.text
    assert 'name="next" value="/oauth/authorize?client_id=x"' in page.text
    cookie = set_cookie(page, csrf.COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http, http base_url
    assert page.headers["x-frame-options"] == "DENY"
    # the token stays the same while the cookie is there
    assert TOKEN_FIELD.search((await client.get("/login")).text) is not None
    first = TOKEN_FIELD.search(page.text)
    again = TOKEN_FIELD.search((await client.get("/login")).text)
    assert first is not None
    assert again is not None
    assert first.group(1) == again.group(1)


async def test_login_without_csrf_is_rejected(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    token = await form_token(client)
    cases: list[dict[str, str]] = [
        {},  # no field
        {"csrf_token": ""},
        {"csrf_token": token + "x"},  # does not match the cookie
        {"csrf_token": token.split(".")[0] + ".00"},
    ]
    for extra in cases:
        response = await client.post("/login", data={"email": admin, "password": PASSWORD, **extra})
        assert response.status_code == 403, extra
        assert "CSRF" in response.text
        assert web_session.COOKIE not in response.headers.get("set-cookie", "")
    # no cookie at all (a cross-site post from a fresh browser)
    client.cookies.clear()
    response = await client.post(
        "/login", data={"email": admin, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403
    # a forged pair: same value in cookie and field, but not signed with the server's secret
    client.cookies.set(csrf.COOKIE, "abc.def")
    response = await client.post(
        "/login", data={"email": admin, "password": PASSWORD, "csrf_token": "abc.def"}
    )
    assert response.status_code == 403
    assert (await session.execute(select(func.count()).select_from(WebSession))).scalar_one() == 0


def test_check_csrf_unit(app: RelaydeskApp) -> None:
    request = _request(app, "/login")
    token = csrf.csrf_token(request)
    assert csrf.csrf_token(request) == token  # one per request
    with_cookie = _request(app, "/login", cookies={csrf.COOKIE: token})
    csrf.check_csrf(with_cookie, token)
    assert csrf.csrf_token(with_cookie) == token  # reused, no new cookie
    for bad in (None, "", token[:-1]):
        with pytest.raises(Forbidden):
            csrf.check_csrf(with_cookie, bad)
    with pytest.raises(Forbidden):
        csrf.check_csrf(_request(app, "/login"), token)


# -- sessions --------------------------------------------------------------------------------


async def test_login_creates_session_and_redirects(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    assert await signed_in_as(client) is None
    response = await login(client, admin.upper(), PASSWORD, next="/portal/apps?tab=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/apps?tab=1"
    cookie = set_cookie(response, web_session.COOKIE)
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    assert "secure" not in lowered
    session_id = cookie.split(";")[0].split("=", 1)[1]
    rows = (await session.execute(select(WebSession))).scalars().all()
    assert len(rows) == 1
    assert rows[0].session_hash != session_id
    assert len(rows[0].session_hash) == 64
    assert rows[0].expires_on > utcnow() + timedelta(days=13)
    assert await signed_in_as(client) == admin


async def test_next_is_never_an_open_redirect(client: httpx.AsyncClient, admin: str) -> None:
    for target in (
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
        "",
    ):
        client.cookies.clear()
        response = await login(client, admin, PASSWORD, next=target)
        assert response.status_code == 303, target
        assert response.headers["location"] == "/", target


def test_safe_next() -> None:
    assert web_session.safe_next("/a/b?c=d#e") == "/a/b?c=d#e"
    assert web_session.safe_next(None) == "/"
    for bad in ("//x", "/\\x", "http://x/", "x", "/a\\b", "/a\nb", " /x"):
        assert web_session.safe_next(bad) == "/", bad


def test_login_redirect(app: RelaydeskApp) -> None:
    request = _request(app, "/oauth/authorize", query=b"client_id=abc&scope=contacts%3Aread")
    response = web_session.login_redirect(request)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/login?next=%2Foauth%2Fauthorize%3Fclient_id%3Dabc%26scope%3Dcontacts%253Aread"
    )


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, admin: str, world: World
) -> None:
    wrong = await login(client, admin, "not the password")
    unknown = await login(client, "nobody@example.com", PASSWORD)
    no_password = await login(client, world.a.viewer.email, PASSWORD)  # never set one
    for response in (wrong, unknown, no_password):
        assert response.status_code == 400
        assert "Invalid email or password." in response.text
        assert web_session.COOKIE not in response.headers.get("set-cookie", "")
    assert await signed_in_as(client) is None


async def test_logout_ends_the_session(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    await login(client, admin, PASSWORD)
    stolen = client.cookies[web_session.COOKIE]
    # without the CSRF token: refused, still signed in
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert await signed_in_as(client) == admin
    token = await form_token(client)
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'relaydesk_session=""' in set_cookie(response, web_session.COOKIE)
    assert await signed_in_as(client) is None
    assert (await session.execute(select(func.count()).select_from(WebSession))).scalar_one() == 0
    client.cookies.set(web_session.COOKIE, stolen)  # the old cookie is dead server-side
    assert await signed_in_as(client) is None


async def test_expired_session_and_deleted_user(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    await login(client, admin, PASSWORD)
    await session.execute(update(WebSession).values(expires_on=utcnow() - timedelta(seconds=1)))
    await session.commit()
    assert await signed_in_as(client) is None

    client.cookies.clear()
    await login(client, admin, PASSWORD)
    assert await signed_in_as(client) == admin
    await session.execute(update(User).where(User.email == admin).values(deleted_on=utcnow()))
    await session.commit()
    assert await signed_in_as(client) is None


async def test_current_user_records_last_seen(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    await login(client, admin, PASSWORD)
    past = utcnow() - timedelta(hours=1)
    await session.execute(update(WebSession).values(last_seen_on=past))
    await session.commit()
    assert await signed_in_as(client) == admin
    seen = (await session.execute(select(WebSession.last_seen_on))).scalar_one()
    assert seen > past + timedelta(minutes=59)


async def test_secure_cookies_over_https(app: RelaydeskApp, clean: None, admin: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        page = await client.get("/login")
        assert "secure" in set_cookie(page, csrf.COOKIE).lower()
        response = await login(client, admin, PASSWORD)
        assert response.status_code == 303
        assert "secure" in set_cookie(response, web_session.COOKIE).lower()


# -- throttling ------------------------------------------------------------------------------


async def test_failed_logins_are_throttled_per_email(
    client: httpx.AsyncClient, admin: str, session: AsyncSession, world: World
) -> None:
    for _ in range(5):
        assert (await login(client, admin, "wrong password")).status_code == 400
    # the 6th attempt is refused before the password is checked, even the right one
    response = await login(client, admin, PASSWORD)
    assert response.status_code == 429
    retry = int(response.headers["retry-after"])
    assert 880 <= retry <= 900
    assert "Too many failed sign-in attempts" in response.text
    assert web_session.COOKIE not in response.headers.get("set-cookie", "")
    # another account from the same IP is not affected
    other = world.a.editor.email
    await session.execute(
        update(User).where(User.email == other).values(password_hash=hash_password(PASSWORD))
    )
    await session.commit()
    assert (await login(client, other, PASSWORD)).status_code == 303
    # the failures age out of the window: the right password works again
    await session.execute(update(LoginFailure).values(created_on=utcnow() - timedelta(seconds=901)))
    await session.commit()
    assert (await login(client, admin, PASSWORD)).status_code == 303


async def test_failed_logins_are_throttled_per_ip(
    client: httpx.AsyncClient, admin: str, app: RelaydeskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "login_failures_per_ip", 3)
    for i in range(3):
        assert (await login(client, f"guess{i}@example.com", "x")).status_code == 400
    response = await login(client, admin, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


async def test_success_clears_the_emails_failures(
    client: httpx.AsyncClient, admin: str, session: AsyncSession
) -> None:
    for _ in range(4):
        await login(client, admin, "wrong password")
    assert (await login(client, admin, PASSWORD)).status_code == 303
    client.cookies.clear()
    for _ in range(4):
        assert (await login(client, admin, "wrong password")).status_code == 400
    assert (await login(client, admin, PASSWORD)).status_code == 303


async def test_missing_fields_and_non_form_bodies(client: httpx.AsyncClient) -> None:
    token = await form_token(client)
    response = await client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    # not a form: no CSRF field can be read from it
    response = await client.post("/login", json={"email": "a@b.c", "csrf_token": token})
    assert response.status_code == 403


# -- helpers ---------------------------------------------------------------------------------


def _request(
    app: RelaydeskApp, path: str, *, query: bytes = b"", cookies: dict[str, str] | None = None
) -> Request:
    headers: list[tuple[bytes, bytes]] = []
    if cookies:
        value = "; ".join(f"{k}={v}" for k, v in cookies.items())
        headers.append((b"cookie", value.encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("testserver", 80),
        "path": path,
        "query_string": query,
        "headers": headers,
        "app": app.fastapi,
    }
    return Request(scope)


async def test_home_leads_to_the_portal(client: httpx.AsyncClient) -> None:
    """A login without ``next`` goes to ``/``: it must lead somewhere, not to a 404 — the
    portal's API/Developers page, which asks for a login first."""
    home = await client.get("/")
    assert home.status_code == 303
    assert home.headers["location"] == "/setup/api"
    portal = await client.get(home.headers["location"])
    assert portal.status_code == 303
    assert portal.headers["location"].startswith("/login?next=")
