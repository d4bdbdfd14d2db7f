"""CSRF protection for the portal's HTML forms: a signed double-submit cookie.

The ``relaydesk_csrf`` cookie holds ``<random>.<HMAC-SHA256(secret, random)>``; every form
carries the same value in its hidden ``csrf_token`` field. A post is accepted only when the
field equals the cookie *and* the signature is valid: another site can make a browser send
the cookie but cannot read it to fill in the field, and a cookie planted from elsewhere (a
sibling subdomain) cannot be forged without the server secret (``RELAYDESK_SECRET_KEY``).
It needs no session, so the login form is protected too.

Usage in a handler::

    token = csrf.csrf_token(request)      # for the form's hidden field
    response = render(..., csrf_token=token)
    csrf.attach(response, request)        # sets the cookie if csrf_token() created one

    csrf.check_csrf(request, form.get("csrf_token"))   # on POST: Forbidden when it fails
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from relaydesk.config import Settings
from relaydesk.exceptions import Forbidden, InvalidArgs

COOKIE = "relaydesk_csrf"
FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
FAILED = (
    "The form was not sent from this site or has expired (CSRF check failed). "
    "Reload the page and try again."
)

_STATE_TOKEN = "relaydesk_csrf_token"  # noqa: S105 -- a request.state key, not a secret
_STATE_NEW = "relaydesk_csrf_new"  # True when that token must still be set as the cookie


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sign(request: Request, nonce: str) -> str:
    key = _settings(request).effective_secret_key()
    return hmac.new(key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def _valid(request: Request, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    if not nonce or not signature or len(token) > 256:
        return False
    return hmac.compare_digest(signature, _sign(request, nonce))


def secure_cookies(request: Request) -> bool:
    """Whether cookies get ``Secure``: the request came over https, or the public base URL is
    https (TLS ends at a proxy)."""
    return request.url.scheme == "https" or _settings(request).base_url.startswith("https://")


def csrf_token(request: Request) -> str:
    """The value for the hidden ``csrf_token`` field: the cookie's when it carries a valid one,
    else a new one (which :func:`attach` then sets as the cookie)."""
    known: str | None = getattr(request.state, _STATE_TOKEN, None)
    if known is not None:
        return known
    cookie = request.cookies.get(COOKIE)
    if cookie and _valid(request, cookie):
        token, new = cookie, False
    else:
        nonce = secrets.token_urlsafe(32)
        token, new = f"{nonce}.{_sign(request, nonce)}", True
    setattr(request.state, _STATE_TOKEN, token)
    setattr(request.state, _STATE_NEW, new)
    return token


def attach(response: Response, request: Request) -> None:
    """Set the CSRF cookie on ``response`` if :func:`csrf_token` created a new token."""
    if not getattr(request.state, _STATE_NEW, False):
        return
    response.set_cookie(
        COOKIE,
        getattr(request.state, _STATE_TOKEN),
        max_age=_settings(request).session_max_age_seconds,
        path="/",
        secure=secure_cookies(request),
        httponly=True,
        samesite="lax",
    )


def check_csrf(request: Request, form_value: str | None) -> None:
    """Raise :class:`Forbidden` unless ``form_value`` equals a validly signed CSRF cookie."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not form_value:
        raise Forbidden(FAILED)
    if not hmac.compare_digest(cookie.encode(), form_value.encode()) or not _valid(request, cookie):
        raise Forbidden(FAILED)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (what HTML forms post);
    the last value wins for repeated names. InvalidArgs as :func:`read_form_pairs`."""
    return dict(await read_form_pairs(request))


async def read_form_pairs(request: Request) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body as (name, value) pairs, repeats kept.
    InvalidArgs for another content type, a body over 64 KB, invalid UTF-8 or more than 100
    fields. (No python-multipart needed: our forms have no file uploads.)"""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidArgs("Expected a form (application/x-www-form-urlencoded).")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidArgs("The form is too large.")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidArgs("The form is not valid UTF-8.") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=100)
    except ValueError:  # too many fields
        raise InvalidArgs("The form has too many fields.") from None
