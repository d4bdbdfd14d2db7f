"""Users and their role in a workspace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.users import repository
from relaydesk.domains.users.schemas import UserCreate, UserOut
from relaydesk.exceptions import Conflict, NotFound
from relaydesk.infra import changes
from relaydesk.infra.auth.passwords import hash_password
from relaydesk.infra.auth.principal import Principal
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import Membership, Role, User, Workspace

ROLE_NAMES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class Member:
    user: User
    membership: Membership


async def create(session: AsyncSession, workspace: Workspace, data: UserCreate) -> Member:
    """Create the user (or reuse an existing one by email) and add them to ``workspace``."""
    email = data.email.lower()
    user = await repository.get_by_email(session, email)
    if user is not None and user.deleted_on is not None:
        raise Conflict(f"The user {email} was deleted.", field="email")
    if user is None:
        user = User(
            email=email,
            first_name=data.first_name,
            last_name=data.last_name,
            password_hash=hash_password(data.password) if data.password else None,
        )
        repository.add(session, user)
        await session.flush()
    elif await repository.get_membership(session, workspace.id, user.id) is not None:
        raise Conflict(f"{email} is already a member of this workspace.", field="email")
    membership = Membership(workspace_id=workspace.id, user_id=user.id, role=data.role.value)
    repository.add(session, membership)
    await session.flush()
    return Member(user, membership)


async def get_member(session: AsyncSession, workspace: Workspace, email: str) -> Member:
    user = await repository.get_by_email(session, email)
    if user is None or user.deleted_on is not None:
        raise NotFound(f"No user {email.lower()}.")
    membership = await repository.get_membership(session, workspace.id, user.id)
    if membership is None:
        raise NotFound(f"{email.lower()} is not a member of this workspace.")
    return Member(user, membership)


async def get_user(session: AsyncSession, email: str) -> User:
    user = await repository.get_by_email(session, email)
    if user is None or user.deleted_on is not None:
        raise NotFound(f"No user {email.lower()}.")
    return user


async def delete(session: AsyncSession, email: str) -> User:
    """Soft-delete a user: every token of theirs stops working at once."""
    user = await get_user(session, email)
    user.deleted_on = utcnow()
    await changes.bump(session)
    return user


def to_out(member: Member, workspace: Workspace) -> UserOut:
    return UserOut(
        uuid=member.user.uuid,
        email=member.user.email,
        first_name=member.user.first_name,
        last_name=member.user.last_name,
        role=Role(member.membership.role).value,
        workspace=workspace.uuid,
        created_on=format_datetime(member.user.created_on) or "",
    )


# -- REST v2 users.json ---------------------------------------------------------------------


def list_query(
    principal: Principal,
    *,
    uuids: Sequence[str] = (),
    emails: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> Select[Any]:
    """The workspace's users, as RapidPro's ``UsersEndpoint``: any of ``uuids``, any of
    ``emails`` (ignoring case), any of ``roles`` (unknown role names are ignored, so only
    unknown names match nobody)."""
    known = [role for role in roles if role in ROLE_NAMES] if roles else None
    return repository.list_members(principal, uuids=uuids, emails=emails, roles=known)


def member_to_wire(user: User, role: str) -> dict[str, Any]:
    return {
        "uuid": user.uuid,
        "name": f"{user.first_name} {user.last_name}".strip(),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": role,
        "team": None,
        "created_on": format_datetime(user.created_on),
        "avatar": None,
    }


def member_renderer(
    session: AsyncSession, workspace_id: int
) -> Callable[[Sequence[User]], Awaitable[list[dict[str, Any]]]]:
    """Renders a page of users with their roles in ``workspace_id`` (one query per page)."""

    async def render(users: Sequence[User]) -> list[dict[str, Any]]:
        roles = await repository.roles_of(session, workspace_id, [user.id for user in users])
        return [member_to_wire(user, roles[user.id]) for user in users]

    return render
