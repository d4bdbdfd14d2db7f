"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from relaydesk.models.epoch import CacheEpoch
from relaydesk.models.mixins import OwnedMixin, WorkspaceScopedMixin
from relaydesk.models.token import ApiToken, ApiVersion, TokenKind
from relaydesk.models.user import Membership, Role, User
from relaydesk.models.workspace import DateStyle, Workspace

__all__ = [
    "ApiToken",
    "ApiVersion",
    "CacheEpoch",
    "DateStyle",
    "Membership",
    "OwnedMixin",
    "Role",
    "TokenKind",
    "User",
    "Workspace",
    "WorkspaceScopedMixin",
]
