"""The caller of any door, after authentication."""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.infra.auth import scopes as api_scopes
from relaydesk.infra.ratelimit.core import Limits
from relaydesk.models import Role, TokenKind

NO_LIMITS = Limits(minute=0, day=0)

READ = "read"
WRITE = "write"
ADMIN = "admin"

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset({READ, WRITE, ADMIN}),
    Role.EDITOR: frozenset({READ, WRITE}),
    Role.AGENT: frozenset({READ, WRITE}),
    Role.VIEWER: frozenset({READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: workspace, user, token kind, scopes and plan.

    * ``personal`` tokens act as their user: only rows the user owns (see
      :func:`relaydesk.infra.tenancy.scoped`), with the user's role.
    * ``company`` tokens act for the whole workspace. Only administrators create them.
    """

    workspace_id: int
    workspace_uuid: str
    plan: str
    user_id: int
    user_uuid: str
    user_email: str
    role: Role
    token_id: int | None
    token_kind: TokenKind
    api_version: str
    limits: Limits = NO_LIMITS  # the workspace's rate limits (plan + overrides)
    # how the caller authenticated: "api_key", "jwt" (exchanged for an API key) or "oauth"
    credential: str = "api_key"
    # OAuth2: the scopes the user granted (None: an API key or its JWT, limited by role only)
    granted: frozenset[str] | None = None

    @property
    def is_company(self) -> bool:
        return self.token_kind is TokenKind.COMPANY

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def api_scopes(self) -> frozenset[str]:
        """The API scopes (:mod:`relaydesk.infra.auth.scopes`) this caller has now: the
        role's, narrowed to the granted ones for an OAuth2 token."""
        allowed = api_scopes.for_role(self.role)
        return allowed if self.granted is None else allowed & self.granted

    def allows(self, scope: str) -> bool:
        """Whether the caller may use API scope ``scope`` (e.g. ``contacts:write``)."""
        return scope in self.api_scopes

    @classmethod
    def operator(cls, workspace_id: int, workspace_uuid: str, plan: str) -> Principal:
        """The server operator (CLI): company scope with administrator rights, no user/token."""
        return cls(
            workspace_id=workspace_id,
            workspace_uuid=workspace_uuid,
            plan=plan,
            user_id=0,
            user_uuid="",
            user_email="",
            role=Role.ADMINISTRATOR,
            token_id=None,
            token_kind=TokenKind.COMPANY,
            api_version="v3",
        )
