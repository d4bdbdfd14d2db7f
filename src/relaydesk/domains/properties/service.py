"""Properties, their departments and members, and invitations (docs/helpdesk.md). Never
commits: the door does, once, on success.

Who may do what (on top of the ``properties:read`` / ``properties:write`` scopes):

* creating a property takes a workspace administrator or editor; its creator becomes its
  ``owner`` member;
* changing a property and managing its members takes a workspace administrator or editor, or
  an ``owner`` / ``admin`` member of the property; only a workspace administrator or an owner
  may make someone an owner, and the last owner can't be removed.

Invitations: the token (``rdi_…``) is only in the emailed accept link
(``{base_url}/invitations/{token}``); its SHA-256 hash is stored. :func:`accept_invitation`
adds the member once; a used, expired or removed invitation fails.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.config import Settings
from relaydesk.domains.properties import mailer, repository
from relaydesk.domains.properties.schemas import (
    DepartmentOut,
    InvitationOut,
    InviteArgs,
    MemberOut,
    PropertyCreate,
    PropertyOut,
    PropertyUpdate,
    RoleName,
)
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import (
    Department,
    Membership,
    Property,
    PropertyInvitation,
    PropertyMember,
    PropertyRole,
    Role,
    User,
)

TOKEN_PREFIX = "rdi_"  # noqa: S105 (a prefix, not a secret)
MANAGERS = frozenset({Role.ADMINISTRATOR, Role.EDITOR})
NOT_FOUND = "No property with this uuid."
CANT_MANAGE = (
    "You do not have permission to perform this action: it needs a workspace administrator or "
    "editor, or an owner or admin of the property."
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/invitations/{token}"


# -- properties ------------------------------------------------------------------------------


async def get(session: AsyncSession, principal: Principal, uuid: str) -> Property:
    """The workspace's (not deleted) property with ``uuid``, or ``not_found``."""
    canonical = canonical_uuid(uuid)
    found = (
        await repository.get_property(session, principal.workspace_id, canonical)
        if canonical
        else None
    )
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def list_stmt(principal: Principal) -> Select[Any]:
    """The workspace's properties (the pager orders them newest first)."""
    return repository.active_properties(principal.workspace_id)


async def render(session: AsyncSession, properties: Sequence[Property]) -> list[PropertyOut]:
    """A page of properties with their departments and member counts (two queries)."""
    ids = [p.id for p in properties]
    departments = await repository.departments_of(session, ids)
    counts = await repository.member_counts(session, ids)
    return [
        PropertyOut(
            uuid=p.uuid,
            name=p.name,
            website=p.website,
            widget=p.widget or {},
            departments=[DepartmentOut(uuid=d.uuid, name=d.name) for d in departments[p.id]],
            member_count=counts.get(p.id, 0),
            created_on=format_datetime(p.created_on) or "",
            modified_on=format_datetime(p.modified_on) or "",
        )
        for p in properties
    ]


async def render_one(session: AsyncSession, prop: Property) -> PropertyOut:
    return (await render(session, [prop]))[0]


async def _member_role(session: AsyncSession, prop: Property, user_id: int) -> str | None:
    member = await repository.member_of(session, prop.id, user_id) if user_id else None
    return member.role if member is not None else None


async def _require_manager(session: AsyncSession, principal: Principal, prop: Property) -> None:
    if principal.role in MANAGERS:
        return
    role = await _member_role(session, prop, principal.user_id)
    if role not in (PropertyRole.OWNER, PropertyRole.ADMIN):
        raise Forbidden(CANT_MANAGE)


async def _set_departments(session: AsyncSession, prop: Property, names: Sequence[str]) -> None:
    """Make the property's departments exactly ``names`` (kept by name, any case)."""
    current = (await repository.departments_of(session, [prop.id]))[prop.id]
    wanted = {name.lower(): name for name in names}
    by_name = {d.name.lower(): d for d in current}
    await repository.delete_departments(
        session, [d.id for key, d in by_name.items() if key not in wanted]
    )
    for key, name in wanted.items():
        existing = by_name.get(key)
        if existing is None:
            repository.add(session, Department(property_id=prop.id, name=name))
        elif existing.name != name:
            existing.name = name
    await session.flush()


async def create(session: AsyncSession, principal: Principal, data: PropertyCreate) -> Property:
    if principal.role not in MANAGERS:
        raise Forbidden(
            "You do not have permission to perform this action: creating a property needs a "
            "workspace administrator or editor."
        )
    now = utcnow()
    prop = Property(
        workspace_id=principal.workspace_id,
        name=data.name,
        website=data.website or None,
        widget=data.widget or {},
        is_active=True,
        created_by_id=principal.user_id or None,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, prop)
    await session.flush()
    await _set_departments(session, prop, data.departments)
    if principal.user_id:
        owner = PropertyMember(
            property_id=prop.id,
            user_id=principal.user_id,
            role=PropertyRole.OWNER.value,
            created_on=now,
        )
        repository.add(session, owner)
        await session.flush()
    return prop


async def update(session: AsyncSession, principal: Principal, data: PropertyUpdate) -> Property:
    prop = await get(session, principal, data.uuid)
    await _require_manager(session, principal, prop)
    given = data.model_fields_set
    if "name" in given and data.name is not None:
        prop.name = data.name
    if "website" in given:
        prop.website = data.website or None
    if "widget" in given and data.widget is not None:
        prop.widget = data.widget
    if "departments" in given and data.departments is not None:
        await _set_departments(session, prop, data.departments)
    prop.modified_on = utcnow()
    await session.flush()
    return prop


# -- members and invitations -----------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    members: list[MemberOut]
    invitations: list[InvitationOut]


async def _render_invitations(
    session: AsyncSession, prop: Property, invitations: Sequence[PropertyInvitation]
) -> list[InvitationOut]:
    departments = (await repository.departments_of(session, [prop.id]))[prop.id]
    names = {d.uuid: d.name for d in departments}
    inviters = await repository.users_by_id(
        session, [i.invited_by_id for i in invitations if i.invited_by_id]
    )
    out = []
    for invitation in invitations:
        inviter = inviters.get(invitation.invited_by_id or 0)
        out.append(
            InvitationOut(
                uuid=invitation.uuid,
                email=invitation.email,
                role=role_name(invitation.role),
                departments=[names[u] for u in invitation.departments if u in names],
                invited_by=inviter.email if inviter is not None else None,
                created_on=format_datetime(invitation.created_on) or "",
                expires_on=format_datetime(invitation.expires_on) or "",
                accepted_on=format_datetime(invitation.accepted_on),
            )
        )
    return out


def role_name(value: str) -> RoleName:
    role: RoleName = PropertyRole(value).value
    return role


async def render_invitation(
    session: AsyncSession, prop: Property, invitation: PropertyInvitation
) -> InvitationOut:
    return (await _render_invitations(session, prop, [invitation]))[0]


async def list_members(session: AsyncSession, principal: Principal, uuid: str) -> Members:
    """The property's members (oldest first) and its invitations not accepted yet."""
    prop = await get(session, principal, uuid)
    rows = await repository.members(session, prop.id)
    departments = await repository.member_departments(session, [m.id for m, _ in rows])
    members = [
        MemberOut(
            uuid=user.uuid,
            email=user.email,
            role=role_name(member.role),
            departments=departments[member.id],
            created_on=format_datetime(member.created_on) or "",
        )
        for member, user in rows
    ]
    pending = await repository.pending_invitations(session, prop.id)
    return Members(members, await _render_invitations(session, prop, pending))


async def _department_uuids(
    session: AsyncSession, prop: Property, names: Sequence[str]
) -> list[str]:
    departments = (await repository.departments_of(session, [prop.id]))[prop.id]
    by_name = {d.name.lower(): d.uuid for d in departments}
    unknown = [name for name in names if name.lower() not in by_name]
    if unknown:
        message = f"Unknown department: {', '.join(unknown)}."
        raise InvalidArgs(message, errors={"departments": [message]})
    return [by_name[name.lower()] for name in names]


@dataclass(frozen=True)
class NewInvitation:
    invitation: PropertyInvitation
    property: Property
    token: str  # only for the email; never stored nor returned by the API


async def invite(
    session: AsyncSession, principal: Principal, data: InviteArgs, settings: Settings
) -> NewInvitation:
    """Invite ``data.email`` to the property: an invitation (replacing a pending one for the
    same email) and an email with its accept link. An email that can't be sent fails the
    call (``email_unavailable``), so no invitation is left without its link."""
    prop = await get(session, principal, data.property)
    await _require_manager(session, principal, prop)
    if (
        data.role == "owner"
        and principal.role is not Role.ADMINISTRATOR
        and await _member_role(session, prop, principal.user_id) != PropertyRole.OWNER
    ):
        raise Forbidden(
            "Only a workspace administrator or an owner of the property can invite owners."
        )
    email = str(data.email).lower()
    if await repository.member_by_email(session, prop.id, email) is not None:
        message = f"{email} is already a member of this property."
        raise Conflict(message, field="email")
    department_uuids = await _department_uuids(session, prop, data.departments)
    replaced = await repository.pending_invitations(session, prop.id, email)
    await repository.delete_invitations(session, [i.id for i in replaced])

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    invitation = PropertyInvitation(
        property_id=prop.id,
        email=email,
        role=data.role,
        departments=department_uuids,
        token_hash=hash_token(token),
        invited_by_id=principal.user_id or None,
        created_on=now,
        expires_on=now + timedelta(days=settings.invitation_ttl_days),
    )
    repository.add(session, invitation)
    await session.flush()

    inviter = principal.user_email or "A Relaydesk administrator"
    body = (
        f"{inviter} invited you to join {prop.name} on Relaydesk as {data.role}.\n\n"
        f"Accept the invitation: {accept_url(settings, token)}\n\n"
        f"The link works once, until {format_datetime(invitation.expires_on)}.\n"
        "If you did not expect this email, ignore it.\n"
    )
    await mailer.send(settings, email, f"You're invited to {prop.name} on Relaydesk", body)
    return NewInvitation(invitation, prop, token)


async def remove(session: AsyncSession, principal: Principal, uuid: str, email: str) -> None:
    """Remove the member with ``email``, or revoke the pending invitations of ``email``."""
    prop = await get(session, principal, uuid)
    await _require_manager(session, principal, prop)
    email = email.lower()
    pending = await repository.pending_invitations(session, prop.id, email)
    member = await repository.member_by_email(session, prop.id, email)
    if member is None and not pending:
        raise NotFound(f"{email} is neither a member of this property nor invited to it.")
    if member is not None:
        if (
            member.role == PropertyRole.OWNER
            and await repository.owner_count(session, prop.id) <= 1
        ):
            raise Conflict("The last owner of a property can't be removed.", field="email")
        await repository.delete_member(session, member)
    await repository.delete_invitations(session, [i.id for i in pending])
    await session.flush()


async def accept_invitation(session: AsyncSession, token: str, user: User) -> PropertyMember:
    """Accept the invitation whose link carries ``token``, as ``user`` (whose email must be
    the invited one): ``user`` becomes a member of the property (and an agent of its
    workspace if they were not a member yet). Works once; ``not_found`` for an unknown or
    revoked token, ``conflict`` for a used or expired one."""
    invitation = await repository.invitation_by_hash(
        session, hash_token(token.strip()), for_update=True
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid (it may have been revoked).")
    if invitation.accepted_on is not None:
        raise Conflict("This invitation has already been used.")
    now = utcnow()
    if invitation.expires_on <= now:
        raise Conflict("This invitation has expired: ask for a new one.")
    if user.deleted_on is not None or user.email.lower() != invitation.email:
        raise Forbidden("This invitation is for another email address.")
    prop = await repository.get_property_by_id(session, invitation.property_id)
    if prop is None or not prop.is_active:
        raise NotFound("This invitation's property no longer exists.")

    if await repository.workspace_membership(session, prop.workspace_id, user.id) is None:
        repository.add(
            session,
            Membership(workspace_id=prop.workspace_id, user_id=user.id, role=Role.AGENT.value),
        )
    member = await repository.member_of(session, prop.id, user.id)
    if member is None:
        member = PropertyMember(
            property_id=prop.id, user_id=user.id, role=invitation.role, created_on=now
        )
        repository.add(session, member)
    else:
        member.role = invitation.role
    invitation.accepted_on = now
    await session.flush()
    departments = (await repository.departments_of(session, [prop.id]))[prop.id]
    wanted = set(invitation.departments)
    await repository.set_member_departments(
        session, member.id, [d.id for d in departments if d.uuid in wanted]
    )
    return member


async def invitation_preview(
    session: AsyncSession, token: str
) -> tuple[PropertyInvitation, Property] | None:
    """The invitation behind an accept link and its property, without accepting it (the page
    that asks "accept?"); None for an unknown or revoked link or a deleted property."""
    invitation = await repository.invitation_by_hash(session, hash_token(token.strip()))
    if invitation is None:
        return None
    prop = await repository.get_property_by_id(session, invitation.property_id)
    if prop is None or not prop.is_active:
        return None
    return invitation, prop


async def property_of(session: AsyncSession, member: PropertyMember) -> Property:
    prop = await repository.get_property_by_id(session, member.property_id)
    if prop is None:
        raise NotFound(NOT_FOUND)
    return prop


async def accept_as(session: AsyncSession, principal: Principal, token: str) -> PropertyMember:
    """:func:`accept_invitation` for the calling user."""
    users = await repository.users_by_id(session, [principal.user_id] if principal.user_id else [])
    user = users.get(principal.user_id)
    if user is None:
        raise Forbidden("Only a user's own credential can accept an invitation.")
    return await accept_invitation(session, token, user)
