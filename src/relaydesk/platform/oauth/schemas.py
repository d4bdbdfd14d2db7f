"""Pydantic models of the OAuth clients API (v3). Input models forbid unknown fields."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from relaydesk.kit.validation import no_nul

MAX_REDIRECT_URIS = 10
MAX_URL = 2000
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri(value: str) -> str:
    """An absolute URI without fragment (RFC 6749 §3.1.2): https, http on a loopback host
    (RFC 8252 §7.3), or a native app's private-use scheme (reverse domain, RFC 8252 §7.1)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise PydanticCustomError("invalid_uri", "Enter a valid absolute URI.") from None
    if parts.fragment or "#" in value:
        raise PydanticCustomError("fragment", "A redirect URI must not contain a fragment.")
    scheme = parts.scheme.lower()
    if scheme == "https" and host:
        return value
    if scheme == "http" and is_loopback(host):
        return value
    if scheme == "http":
        raise PydanticCustomError(
            "insecure_uri", "Use https (plain http only for loopback: 127.0.0.1, [::1])."
        )
    if "." in scheme and (parts.path or parts.netloc):
        return value  # com.example.app:/callback
    raise PydanticCustomError("invalid_uri", "Enter a valid absolute URI.")


RedirectUri = Annotated[
    str,
    AfterValidator(no_nul),
    Field(min_length=1, max_length=MAX_URL),
    AfterValidator(redirect_uri),
]


class OAuthClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(no_nul)] = Field(min_length=1, max_length=128)
    redirect_uris: list[RedirectUri] = Field(
        min_length=1,
        max_length=MAX_REDIRECT_URIS,
        description="Where users are sent back; matched exactly (scheme, host, port, path, query).",
    )
    public: bool = Field(
        default=False,
        description="A public client (browser or native app) has no secret and must use PKCE.",
    )
    allow_implicit: bool = Field(
        default=False,
        description="Allow the implicit grant (response_type=token): access token in the URL "
        "fragment, no refresh token. Prefer the code flow with PKCE.",
    )


class OAuthClientOut(BaseModel):
    client_id: str
    name: str
    redirect_uris: list[str]
    public: bool
    allow_implicit: bool
    workspace: str = Field(description="The workspace's uuid: tokens act in it.")
    created_on: str


class OAuthClientCreated(OAuthClientOut):
    client_secret: str | None = Field(
        description="Confidential clients only; shown this once, stored hashed. Null for "
        "public clients."
    )
