"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``; the secret is
``whsec_<base64 key>``. During a rotation both the new and the previous secret sign, space
separated, so receivers verifying with either keep working.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from functools import lru_cache

PREFIX = "whsec_"
KEY_BYTES = 24


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@lru_cache(maxsize=4096)
def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.digest(_key(secret), b"%s.%d.%s" % (msg_id.encode(), timestamp, body), "sha256")
    return "v1," + base64.b64encode(mac).decode()


def signature_header(keys: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    if len(keys) == 1:  # nearly always (no rotation under way)
        return sign(keys[0], msg_id, timestamp, body)
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in keys)
