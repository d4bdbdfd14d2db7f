"""Extra accounts for the fields/labels/globals/users tests (the shared ``world`` has
administrators, editors and viewers; these tests also need agents and named users)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.users import service as users
from relaydesk.domains.users.schemas import UserCreate
from relaydesk.domains.workspace import service as workspaces
from relaydesk.models import Role
from relaydesk.platform.tokens import service as tokens
from relaydesk.platform.tokens.schemas import TokenCreate


@dataclass
class Extra:
    email: str
    uuid: str
    token: str  # v2 personal token


async def add_member(
    session: AsyncSession,
    workspace_uuid: str,
    email: str,
    role: Role,
    *,
    first_name: str = "",
    last_name: str = "",
) -> Extra:
    workspace = await workspaces.get_by_uuid(session, workspace_uuid)
    member = await users.create(
        session,
        workspace,
        UserCreate(email=email, role=role, first_name=first_name, last_name=last_name),
    )
    token = await tokens.create(session, member.user, member.membership, TokenCreate(name="t"))
    await session.commit()
    return Extra(email, member.user.uuid, token.plaintext)
