"""``/login`` and ``/logout``: the portal's sign-in form, sessions and failed-login throttling.

* ``GET /login?next=/path``: the form (``email``, ``password``, hidden ``csrf_token`` and
  ``next``).
* ``POST /login``: CSRF check (403 without a valid token), throttling (429 with
  ``Retry-After``), then the password (Argon2). Success: a new session, the
  ``relaydesk_session`` cookie and a 303 to ``next`` (same-site relative paths only) or ``/``.
  Failure: 400 with one message for an unknown email and a wrong password alike.
* ``POST /logout``: CSRF check, the session row is deleted, the cookie cleared, 303 to
  ``/login``.

Throttling: at most ``RELAYDESK_LOGIN_FAILURES_PER_EMAIL`` (5) failures per email and
``RELAYDESK_LOGIN_FAILURES_PER_IP`` (20) per client IP within
``RELAYDESK_LOGIN_FAILURE_WINDOW_SECONDS`` (900); past either, the form answers 429 without
checking the password until the oldest counted failure leaves the window. Failures are rows
in ``login_failures`` (the email as its SHA-256), so every process and host agrees, and the
limit holds whatever ``RELAYDESK_RATE_LIMITS`` says. A successful login clears its email's
failures (not the IP's).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.config import Settings
from relaydesk.domains.users import service as users
from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.passwords import hash_password, verify_password
from relaydesk.infra.http.deps import Session
from relaydesk.infra.http.docs import templates
from relaydesk.infra.http.guard import client_ip
from relaydesk.kit.time import utcnow
from relaydesk.models import LoginFailure, User
from relaydesk.web import csrf
from relaydesk.web import session as web_session

router = APIRouter(include_in_schema=False)

INVALID = "Invalid email or password."
MISSING = "Enter your email address and password."
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take as long."""
    return hash_password("relaydesk-no-such-user")


def _email_hash(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _page(
    request: Request,
    *,
    status: int = 200,
    error: str = "",
    email: str = "",
    next_url: str = "/",
    user: User | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = csrf.csrf_token(request)
    html = templates.get_template("login.html").render(
        csrf_token=token,
        error=error,
        email=email,
        next=next_url,
        user=user,
    )
    response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    csrf.attach(response, request)
    return response


# -- throttling ------------------------------------------------------------------------------


async def _retry_after(
    session: AsyncSession, column: Any, value: str, limit: int, since: datetime, window: int
) -> int:
    """Seconds until ``value`` (an email hash or IP) is below ``limit`` failures again; 0 if
    it is already."""
    count = (
        await session.execute(
            select(func.count()).where(column == value, LoginFailure.created_on > since)
        )
    ).scalar_one()
    if count < limit:
        return 0
    # the failure whose expiry brings the count back under the limit
    oldest = (
        await session.execute(
            select(LoginFailure.created_on)
            .where(column == value, LoginFailure.created_on > since)
            .order_by(LoginFailure.created_on.desc())
            .offset(limit - 1)
            .limit(1)
        )
    ).scalar_one()
    left = (oldest + timedelta(seconds=window) - utcnow()).total_seconds()
    return max(1, math.ceil(left))


async def throttled(session: AsyncSession, settings: Settings, email: str, ip: str) -> int:
    """Seconds the login form stays closed for this email or IP (0: open)."""
    window = settings.login_failure_window_seconds
    since = utcnow() - timedelta(seconds=window)
    by_email = await _retry_after(
        session,
        LoginFailure.email_hash,
        _email_hash(email),
        settings.login_failures_per_email,
        since,
        window,
    )
    by_ip = await _retry_after(
        session, LoginFailure.ip, ip, settings.login_failures_per_ip, since, window
    )
    return max(by_email, by_ip)


async def record_failure(session: AsyncSession, settings: Settings, email: str, ip: str) -> None:
    """Count a failed login (and forget failures older than the window). Caller commits."""
    now = utcnow()
    horizon = now - timedelta(seconds=settings.login_failure_window_seconds)
    await session.execute(delete(LoginFailure).where(LoginFailure.created_on <= horizon))
    session.add(LoginFailure(email_hash=_email_hash(email), ip=ip, created_on=now))


def _wait_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds > 60 else f"{seconds} s"
    return f"Too many failed sign-in attempts. Try again in {when}."


async def _form(request: Request) -> dict[str, str]:
    """The posted form; empty when the body is not one (then the CSRF check refuses it)."""
    try:
        return await csrf.read_form(request)
    except InvalidArgs:
        return {}


# -- pages -----------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, session: Session) -> Response:
    user = await web_session.current_user(request, session)
    next_url = web_session.safe_next(request.query_params.get("next"))
    return _page(request, next_url=next_url, user=user)


@router.post("/login")
async def login(request: Request, session: Session) -> Response:
    settings = _settings(request)
    form = await _form(request)
    email = form.get("email", "").strip().lower()
    password = form.get("password", "")
    next_url = web_session.safe_next(form.get("next"))
    try:
        csrf.check_csrf(request, form.get(csrf.FIELD))
    except Forbidden as exc:
        return _page(request, status=403, error=exc.message, email=email, next_url=next_url)
    if not email or not password:
        return _page(request, status=400, error=MISSING, email=email, next_url=next_url)

    ip = client_ip(request)[:64]
    wait = await throttled(session, settings, email, ip)
    if wait:
        return _page(
            request,
            status=429,
            error=_wait_message(wait),
            email=email,
            next_url=next_url,
            headers={"Retry-After": str(wait)},
        )

    try:
        user: User | None = await users.get_user(session, email)
    except NotFound:
        user = None
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    valid = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not user.password_hash or not valid:
        await record_failure(session, settings, email, ip)
        await session.commit()
        return _page(request, status=400, error=INVALID, email=email, next_url=next_url)

    await session.execute(delete(LoginFailure).where(LoginFailure.email_hash == _email_hash(email)))
    session_id = await web_session.start(request, session, user)
    await session.commit()
    response = RedirectResponse(next_url, status_code=303, headers={"Cache-Control": "no-store"})
    web_session.set_cookie(response, request, session_id)
    return response


@router.post("/logout")
async def logout(request: Request, session: Session) -> Response:
    form = await _form(request)
    try:
        csrf.check_csrf(request, form.get(csrf.FIELD))
    except Forbidden as exc:
        return _page(request, status=403, error=exc.message)
    await web_session.end(request, session)
    await session.commit()
    response = RedirectResponse(
        web_session.LOGIN_PATH, status_code=303, headers={"Cache-Control": "no-store"}
    )
    web_session.clear_cookie(response, request)
    return response
