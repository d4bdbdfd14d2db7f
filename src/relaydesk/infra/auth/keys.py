"""API key format: ``rd_`` + 36 base62 random characters + 6 base62 checksum characters.

* 36 characters from ``secrets`` carry 214 bits; the 8 shown in listings (the visible
  prefix) leave 166 bits secret.
* The checksum is CRC32 of the random part, base62-encoded (like GitHub's tokens), so secret
  scanners and the server reject typos and garbage without a database hit.
* Only ``sha256(key)`` is stored; lookups are by that hash, so nothing compares secret bytes
  and nothing leaks timing on a common prefix.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from dataclasses import dataclass

KEY_PREFIX = "rd_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 36
CHECKSUM_LENGTH = 6
VISIBLE_LENGTH = len(KEY_PREFIX) + 8
KEY_LENGTH = len(KEY_PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
_ALPHABET_SET = frozenset(ALPHABET)


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str
    prefix: str
    digest: str


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate() -> NewKey:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    plaintext = f"{KEY_PREFIX}{body}{checksum(body)}"
    return NewKey(plaintext=plaintext, prefix=plaintext[:VISIBLE_LENGTH], digest=digest(plaintext))


def is_well_formed(key: str) -> bool:
    """True when ``key`` has our shape and its checksum matches (no database needed)."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return False
    body = key[len(KEY_PREFIX) : len(KEY_PREFIX) + RANDOM_LENGTH]
    check = key[len(KEY_PREFIX) + RANDOM_LENGTH :]
    if not _ALPHABET_SET.issuperset(body) or not _ALPHABET_SET.issuperset(check):
        return False
    return secrets.compare_digest(checksum(body), check)
