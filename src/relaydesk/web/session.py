"""Portal login sessions: server-side rows behind the ``relaydesk_session`` cookie.

The cookie holds a random session id (256 bits); the ``web_sessions`` table keeps only its
SHA-256, with the user, creation, expiry (``RELAYDESK_SESSION_MAX_AGE_SECONDS`` after login)
and ``last_seen_on`` (refreshed at most once a minute). Logging out deletes the row, so the
cookie stops working at once; so does deleting the user.

The cookie is HttpOnly, SameSite=Lax, Path=/, and Secure when the request is https or
``RELAYDESK_BASE_URL`` is https.

Pages that need a user::

    user = await current_user(request, session)
    if user is None:
        return login_redirect(request)      # 303 /login?next=<this page>

Nothing here commits except the ``last_seen_on`` refresh, which uses its own short
transaction (call :func:`current_user` before the request writes anything).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from relaydesk.config import Settings
from relaydesk.kit.time import utcnow
from relaydesk.models import User, WebSession
from relaydesk.web.csrf import secure_cookies

log = logging.getLogger("relaydesk.web")

COOKIE = "relaydesk_session"
LOGIN_PATH = "/login"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_on resolution

_STATE_USER = "relaydesk_user"  # request.state cache: (cookie, user or None)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def current_user(request: Request, session: AsyncSession) -> User | None:
    """The logged-in user from the session cookie, or None (no cookie, unknown, expired or
    logged-out session, deleted user)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > 128:
        return None
    cached: tuple[str, User | None] | None = getattr(request.state, _STATE_USER, None)
    if cached is not None and cached[0] == cookie:
        return cached[1]
    now = utcnow()
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.session_hash == _hash(cookie),
                WebSession.expires_on > now,
                User.deleted_on.is_(None),
            )
        )
    ).first()
    user: User | None = None
    if row is not None:
        web_session, user = row[0], row[1]
        if now - web_session.last_seen_on >= TOUCH_EVERY:
            await _touch(request, web_session.id, now)
    setattr(request.state, _STATE_USER, (cookie, user))
    return user


async def _touch(request: Request, session_id: int, now: datetime) -> None:
    """Record ``last_seen_on`` in a transaction of its own (best effort)."""
    try:
        async with request.app.state.sessionmaker() as own:
            await own.execute(
                update(WebSession).where(WebSession.id == session_id).values(last_seen_on=now)
            )
            await own.commit()
    except Exception:
        log.warning("could not record a web session's last_seen_on", exc_info=True)


async def start(request: Request, session: AsyncSession, user: User) -> str:
    """Create a session for ``user`` (ending the one the request came with, if any, and
    deleting expired ones) and return its id for :func:`set_cookie`. The caller commits."""
    await end(request, session)
    now = utcnow()
    await session.execute(delete(WebSession).where(WebSession.expires_on <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            session_hash=_hash(session_id),
            user_id=user.id,
            created_on=now,
            last_seen_on=now,
            expires_on=now + timedelta(seconds=_settings(request).session_max_age_seconds),
        )
    )
    await session.flush()
    return session_id


async def end(request: Request, session: AsyncSession) -> None:
    """Delete the request's session row (logout). The caller commits."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await session.execute(delete(WebSession).where(WebSession.session_hash == _hash(cookie)))
    setattr(request.state, _STATE_USER, None)


def set_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=_settings(request).session_max_age_seconds,
        path="/",
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", secure=secure_cookies(request), httponly=True, samesite="lax"
    )


def safe_next(value: str | None) -> str:
    """``value`` if it is a same-site relative path (``/…``), else ``/``: no open redirect
    (``//host``, ``/\\host``, ``https://…``, control characters are all refused)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_redirect(request: Request) -> RedirectResponse:
    """303 to ``/login?next=<this request's path and query>``."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(
        f"{LOGIN_PATH}?{urlencode({'next': safe_next(target)})}", status_code=303
    )
