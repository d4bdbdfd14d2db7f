"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from relaydesk.models.contact import (
    Contact,
    ContactField,
    ContactGroup,
    ContactStatus,
    ContactURN,
    FieldType,
    Global,
    GroupStatus,
    Label,
    contact_group_members,
)
from relaydesk.models.epoch import CacheEpoch
from relaydesk.models.mixins import OwnedMixin, WorkspaceScopedMixin
from relaydesk.models.token import ApiToken, ApiVersion, TokenKind
from relaydesk.models.user import Membership, Role, User
from relaydesk.models.webhook import (
    CustomData,
    MessageStatus,
    Webhook,
    WebhookAttempt,
    WebhookEvent,
    WebhookMessage,
    WebhookState,
)
from relaydesk.models.workspace import DateStyle, Workspace

__all__ = [
    "ApiToken",
    "ApiVersion",
    "CacheEpoch",
    "Contact",
    "ContactField",
    "ContactGroup",
    "ContactStatus",
    "ContactURN",
    "CustomData",
    "DateStyle",
    "FieldType",
    "Global",
    "GroupStatus",
    "Label",
    "Membership",
    "MessageStatus",
    "OwnedMixin",
    "Role",
    "TokenKind",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookEvent",
    "WebhookMessage",
    "WebhookState",
    "Workspace",
    "WorkspaceScopedMixin",
    "contact_group_members",
]
