"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from relaydesk.models.chat import (
    Chat,
    ChatMessage,
    ChatStatus,
    SenderKind,
    Visitor,
    chat_tags,
)
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
from relaydesk.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken
from relaydesk.models.property import (
    Department,
    Property,
    PropertyInvitation,
    PropertyMember,
    PropertyRole,
    property_member_departments,
)
from relaydesk.models.signing_key import SigningKey
from relaydesk.models.ticket import Ticket, TicketEvent, TicketEventType, TicketStatus, Topic
from relaydesk.models.token import ApiToken, ApiVersion, TokenKind
from relaydesk.models.user import Membership, Role, User
from relaydesk.models.web_session import LoginFailure, WebSession
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
    "Chat",
    "ChatMessage",
    "ChatStatus",
    "Contact",
    "ContactField",
    "ContactGroup",
    "ContactStatus",
    "ContactURN",
    "CustomData",
    "DateStyle",
    "Department",
    "FieldType",
    "Global",
    "GroupStatus",
    "Label",
    "LoginFailure",
    "Membership",
    "MessageStatus",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "OwnedMixin",
    "Property",
    "PropertyInvitation",
    "PropertyMember",
    "PropertyRole",
    "Role",
    "SenderKind",
    "SigningKey",
    "Ticket",
    "TicketEvent",
    "TicketEventType",
    "TicketStatus",
    "TokenKind",
    "Topic",
    "User",
    "Visitor",
    "WebSession",
    "Webhook",
    "WebhookAttempt",
    "WebhookEvent",
    "WebhookMessage",
    "WebhookState",
    "Workspace",
    "WorkspaceScopedMixin",
    "chat_tags",
    "contact_group_members",
    "property_member_departments",
]
