"""API scopes: what a credential may do.

An API key (and a JWT exchanged for one) may do everything its user's role allows. An OAuth2
access token may do only what the user consented to: the granted scopes, intersected with
what the role allows at the time of each request (a demoted user's tokens shrink with them).

Every API door checks one scope per operation (``read_scope``/``write_scope`` on each
REST v2 endpoint, a router dependency on v3: docs/auth.md#login-and-scopes) *in addition to*
the role checks it always had (e.g. webhook changes need an administrator's or company key).
A role's scopes are exactly what its API keys could already do, so API keys lose nothing:
``webhooks:manage`` is in every role's set because any member's key may read the webhooks;
changing them still takes an administrator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relaydesk.exceptions import Forbidden
from relaydesk.models import Role

if TYPE_CHECKING:
    from relaydesk.infra.auth.principal import Principal

CHATS_READ = "chats:read"
CHATS_WRITE = "chats:write"
CONTACTS_READ = "contacts:read"
CONTACTS_WRITE = "contacts:write"
MESSAGES_READ = "messages:read"
MESSAGES_WRITE = "messages:write"
PROPERTIES_READ = "properties:read"
PROPERTIES_WRITE = "properties:write"
TICKETS_READ = "tickets:read"
TICKETS_WRITE = "tickets:write"
WEBHOOKS_MANAGE = "webhooks:manage"
WORKSPACE_READ = "workspace:read"

# every scope, in the order consent pages and metadata list them, with its description
DESCRIPTIONS: dict[str, str] = {
    WORKSPACE_READ: "See the workspace's settings and its users",
    CONTACTS_READ: "Read contacts, groups, fields, labels and globals",
    CONTACTS_WRITE: "Create, change and delete contacts, groups, fields, labels and globals",
    MESSAGES_READ: "Read messages",
    MESSAGES_WRITE: "Send messages",
    TICKETS_READ: "Read tickets",
    TICKETS_WRITE: "Open, change and close tickets",
    CHATS_READ: "Read live chats, their conversations and statistics",
    CHATS_WRITE: "Reply to, tag and end live chats",
    PROPERTIES_READ: "See properties (websites and apps), their departments and members",
    PROPERTIES_WRITE: "Create and change properties, invite and remove their members",
    WEBHOOKS_MANAGE: "Create, change and delete webhooks and read their deliveries",
}
ALL: tuple[str, ...] = tuple(DESCRIPTIONS)
_READ = frozenset(s for s in ALL if s.endswith(":read"))
_WRITE = frozenset(s for s in ALL if s.endswith(":write"))

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset(ALL),
    Role.EDITOR: _READ | _WRITE | {WEBHOOKS_MANAGE},
    Role.AGENT: _READ | _WRITE | {WEBHOOKS_MANAGE},
    Role.VIEWER: _READ | {WEBHOOKS_MANAGE},  # reads webhooks; never a :write scope
}


class UnknownScope(ValueError):
    """A scope string named a scope that does not exist."""


def for_role(role: Role) -> frozenset[str]:
    return ROLE_SCOPES[role]


def parse(text: str | None) -> frozenset[str]:
    """A space-separated scope string (RFC 6749 §3.3) as a set; UnknownScope if any is not
    one of :data:`ALL`."""
    found = frozenset((text or "").split())
    unknown = sorted(found - set(ALL))
    if unknown:
        raise UnknownScope(f"Unknown scope: {' '.join(unknown)}")
    return found


def render(scopes: frozenset[str] | set[str]) -> str:
    """The space-separated form, in :data:`ALL` order (stable for tokens and tests)."""
    return " ".join(s for s in ALL if s in scopes)


def denied(scope: str) -> str:
    """The 403 message when the caller lacks ``scope``."""
    return f"You do not have permission to perform this action: it needs the {scope} scope."


API_KEYS_ONLY = "API keys can only be managed with an API key, not with an OAuth access token."


def require(principal: Principal, scope: str) -> None:
    """Forbidden (403) unless ``principal`` may use ``scope`` (its role's scopes, narrowed to
    the granted ones for an OAuth token)."""
    if not principal.allows(scope):
        raise Forbidden(denied(scope))


def is_oauth(principal: Principal) -> bool:
    """Whether the caller authenticated with an OAuth2 access token (a delegated grant)."""
    return principal.credential == "oauth" or principal.granted is not None


def require_api_key(principal: Principal) -> None:
    """Forbidden (403) for OAuth access tokens: what only the account's own keys may do
    (managing API keys), whatever scopes were granted."""
    if is_oauth(principal):
        raise Forbidden(API_KEYS_ONLY)
