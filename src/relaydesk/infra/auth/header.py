"""Parse the Authorization header: ``Token <key>``, ``Bearer <key>`` or HTTP Basic.

Messages follow Django REST framework, which RapidPro (and so its clients) use.
"""

from __future__ import annotations

import base64
import binascii

from relaydesk.exceptions import InvalidAuth, NotAuthenticated
from relaydesk.infra.auth.keys import KEY_PREFIX

MISSING = "Authentication credentials were not provided."
BAD_BASE64 = "Invalid basic header. Credentials not correctly base64 encoded."


def extract_key(header: str | None) -> str:
    """Return the API key carried by ``header`` or raise NotAuthenticated / InvalidAuth.

    Basic auth accepts the key as the username (password empty or anything) or as the password
    (username anything, e.g. the user's email, as RapidPro's Basic auth does).
    """
    if not header:
        raise NotAuthenticated(MISSING)
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("token", "bearer", "basic"):
        raise NotAuthenticated(MISSING)
    parts = rest.split()
    label = "basic" if scheme == "basic" else "token"
    if not parts:
        raise InvalidAuth(f"Invalid {label} header. No credentials provided.")
    if len(parts) > 1:
        raise InvalidAuth(f"Invalid {label} header. Credentials string should not contain spaces.")
    if scheme != "basic":
        return parts[0]
    try:
        decoded = base64.b64decode(parts[0], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidAuth(
            "Invalid basic header. Credentials not correctly base64 encoded."
        ) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise InvalidAuth(BAD_BASE64)
    if username.startswith(KEY_PREFIX):
        return username
    if password:
        return password
    return username
