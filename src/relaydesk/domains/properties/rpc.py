"""RPC methods for properties and their members: ``property.list|get|create|update`` and
``property.member.list|invite|remove|accept`` (docs/helpdesk.md).

Reading needs ``properties:read``; changing ``properties:write`` plus the service's rules
(a workspace administrator or editor, or an owner/admin of the property). Another
workspace's property is ``not_found``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, EmailStr, Field

from relaydesk.domains.properties import service
from relaydesk.domains.properties.schemas import (
    InvitationOut,
    InviteArgs,
    MemberOut,
    PropertyCreate,
    PropertyOut,
    PropertyUpdate,
    RoleName,
)
from relaydesk.exceptions import Forbidden
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.rpc import Args, Call, Done, Methods, PageArgs, cursor_page
from relaydesk.models import Property

methods = Methods()

_UUID = "3f6c1a2b-8d4e-4b7a-9c1d-2e3f4a5b6c7d"
_WHEN = "2026-11-23T10:00:00.000000Z"
_PROPERTY: dict[str, Any] = {
    "uuid": _UUID,
    "name": "Acme Store",
    "website": "https://shop.acme.example",
    "widget": {},
    "departments": [
        {"uuid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "Sales"},
        {"uuid": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "name": "Support"},
    ],
    "member_count": 1,
    "created_on": _WHEN,
    "modified_on": _WHEN,
}
_MEMBER: dict[str, Any] = {
    "uuid": "5f0d2c1e-3b4a-4f6e-8d7c-9a1b2c3d4e5f",
    "email": "ada@example.com",
    "role": "owner",
    "departments": [],
    "created_on": _WHEN,
}
_INVITATION: dict[str, Any] = {
    "uuid": "7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
    "email": "grace@example.com",
    "role": "agent",
    "departments": ["Support"],
    "invited_by": "ada@example.com",
    "created_on": _WHEN,
    "expires_on": "2026-11-30T10:00:00.000000Z",
    "accepted_on": None,
}


class PropertyListArgs(PageArgs):
    """Arguments of ``property.list``: a page (``cursor``, ``limit``)."""


class PropertyList(BaseModel):
    properties: list[PropertyOut] = Field(description="Newest first.")
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class PropertyRef(Args):
    uuid: str = Field(description="The property's uuid.")


class PropertyResult(BaseModel):
    property: PropertyOut


class MembersArgs(Args):
    property: str = Field(description="The property's uuid.")


class MemberList(BaseModel):
    members: list[MemberOut] = Field(description="Oldest first.")
    invitations: list[InvitationOut] = Field(
        description="Invitations not accepted yet (expired ones too, until removed)."
    )


class InvitationResult(BaseModel):
    invitation: InvitationOut = Field(description="The invitation (its token is only emailed).")


class RemoveArgs(Args):
    property: str = Field(description="The property's uuid.")
    email: EmailStr = Field(description="The member's (or the invited) email address.")


class AcceptArgs(Args):
    token: str = Field(min_length=1, max_length=200, description="The token of the accept link.")


class MemberResult(BaseModel):
    property: str = Field(description="The property's uuid.")
    role: RoleName


@methods.method(
    "property.list",
    scope=scopes.PROPERTIES_READ,
    example_args={"limit": 50},
    example_result={"properties": [_PROPERTY], "next": None},
)
async def list_properties(call: Call, args: PropertyListArgs) -> PropertyList:
    """List the workspace's properties (websites and apps), newest first, a page at a time.

    Pass the reply's `next` as `cursor` for the following page.
    """
    rows, next_cursor = await cursor_page(
        call.session,
        service.list_stmt(call.principal),
        cursor=args.cursor,
        limit=args.limit or call.settings.page_size,
        sort=Property.created_on,
        id_column=Property.id,
    )
    return PropertyList(properties=await service.render(call.session, rows), next=next_cursor)


@methods.method(
    "property.get",
    scope=scopes.PROPERTIES_READ,
    example_args={"uuid": _UUID},
    example_result={"property": _PROPERTY},
)
async def get_property(call: Call, args: PropertyRef) -> PropertyResult:
    """A property with its departments and its number of members."""
    prop = await service.get(call.session, call.principal, args.uuid)
    return PropertyResult(property=await service.render_one(call.session, prop))


@methods.method(
    "property.create",
    scope=scopes.PROPERTIES_WRITE,
    example_args={
        "name": "Acme Store",
        "website": "https://shop.acme.example",
        "departments": ["Sales", "Support"],
    },
    example_result={"property": _PROPERTY},
)
async def create_property(call: Call, args: PropertyCreate) -> PropertyResult:
    """Create a property; only `name` is required.

    Needs a workspace administrator or editor; the caller becomes the property's owner.
    """
    prop = await service.create(call.session, call.principal, args)
    return PropertyResult(property=await service.render_one(call.session, prop))


@methods.method(
    "property.update",
    scope=scopes.PROPERTIES_WRITE,
    example_args={"uuid": _UUID, "name": "Acme Shop", "departments": ["Sales", "Billing"]},
    example_result={"property": {**_PROPERTY, "name": "Acme Shop"}},
)
async def update_property(call: Call, args: PropertyUpdate) -> PropertyResult:
    """Change a property's name, website, widget settings or departments.

    Only the arguments given change. `departments` replaces the list: a department kept (by
    name, any case) keeps its uuid and members, one left out is deleted. Needs a workspace
    administrator or editor, or an owner or admin of the property.
    """
    prop = await service.update(call.session, call.principal, args)
    return PropertyResult(property=await service.render_one(call.session, prop))


@methods.method(
    "property.member.list",
    scope=scopes.PROPERTIES_READ,
    example_args={"property": _UUID},
    example_result={"members": [_MEMBER], "invitations": [_INVITATION]},
)
async def list_members(call: Call, args: MembersArgs) -> MemberList:
    """A property's members with their roles and departments, and its pending invitations."""
    found = await service.list_members(call.session, call.principal, args.property)
    return MemberList(members=found.members, invitations=found.invitations)


@methods.method(
    "property.member.invite",
    scope=scopes.PROPERTIES_WRITE,
    example_args={
        "property": _UUID,
        "email": "grace@example.com",
        "role": "agent",
        "departments": ["Support"],
    },
    example_result={"invitation": _INVITATION},
)
async def invite_member(call: Call, args: InviteArgs) -> InvitationResult:
    """Invite someone to a property by email: they get a link to accept it.

    `role` is owner, admin or agent (the default); `departments` are names of the property's
    departments. A new invitation for the same email replaces the pending one. The accept
    link's token is only in the email. An email that can't be sent (or a server without
    RELAYDESK_SMTP_HOST) is `email_unavailable` and nothing is kept. Needs a workspace
    administrator or editor, or an owner or admin of the property (owners are invited by
    administrators and owners only).
    """
    new = await service.invite(call.session, call.principal, args, call.settings)
    invitation = await service.render_invitation(call.session, new.property, new.invitation)
    return InvitationResult(invitation=invitation)


@methods.method(
    "property.member.remove",
    scope=scopes.PROPERTIES_WRITE,
    example_args={"property": _UUID, "email": "grace@example.com"},
    example_result={},
)
async def remove_member(call: Call, args: RemoveArgs) -> Done:
    """Remove a member from a property, or revoke the pending invitation of an email.

    The last owner can't be removed (`conflict`).
    """
    await service.remove(call.session, call.principal, args.property, str(args.email))
    return Done()


@methods.method(
    "property.member.accept",
    scope=None,
    example_args={"token": "rdi_0J7mQ9t1aXz4Vb2Kc8NpLr5sYd3WfHgE6uTiOo1Aq"},
    example_result={"property": _UUID, "role": "agent"},
)
async def accept_invitation(call: Call, args: AcceptArgs) -> MemberResult:
    """Accept an invitation (the token of its emailed link) as the calling user.

    The caller's email must be the invited one, with their own API key (or its JWT; an OAuth
    access token is `forbidden`: joining is not delegated). An invitation works once: a used
    or expired one is `conflict`, an unknown or revoked one `not_found`.
    """
    if scopes.is_oauth(call.principal):
        raise Forbidden("An invitation is accepted with the user's own key, not an OAuth token.")
    member = await service.accept_as(call.session, call.principal, args.token)
    prop = await service.property_of(call.session, member)
    return MemberResult(property=prop.uuid, role=service.role_name(member.role))
