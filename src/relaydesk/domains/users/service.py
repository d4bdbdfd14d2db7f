"""Users and their role in a workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.users import repository
from relaydesk.domains.users.schemas import UserCreate, UserOut
from relaydesk.exceptions import Conflict, NotFound
from relaydesk.infra import changes
from relaydesk.infra.auth.passwords import hash_password
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import Membership, Role, User, Workspace


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
