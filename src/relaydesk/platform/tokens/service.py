"""API tokens: create (shown once), list (scoped), delete (immediate).

Rules:
* A user may have many tokens per workspace, of kind ``personal`` or ``company``.
* Only administrators create company tokens; they are shared by the workspace's administrators.
* Listing and deleting follow the tenancy rule: a personal token sees its own user's tokens,
  a company token (or the operator) every token of the workspace.
* Deleting bumps the auth epoch in the same transaction, so no process keeps the token alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.exceptions import Forbidden, InvalidArgs, NotFound
from relaydesk.infra import changes, tenancy
from relaydesk.infra.auth import keys
from relaydesk.infra.auth.principal import ADMIN, Principal
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import ApiToken, Membership, Role, TokenKind, User
from relaydesk.platform.tokens import repository
from relaydesk.platform.tokens.schemas import TokenCreate, TokenCreated, TokenOut, TokenUser


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    user: User
    plaintext: str


async def create(
    session: AsyncSession, user: User, membership: Membership, data: TokenCreate
) -> NewToken:
    """Create a token for ``user`` in ``membership``'s workspace (the caller checked who may)."""
    if data.kind == TokenKind.COMPANY.value and membership.role != Role.ADMINISTRATOR:
        raise Forbidden("Only administrators can create company tokens.", field="kind")
    if user.deleted_on is not None:
        raise InvalidArgs("The user is deleted.", field="user")
    new = keys.generate()
    token = ApiToken(
        workspace_id=membership.workspace_id,
        user_id=user.id,
        kind=data.kind,
        api_version=data.api_version,
        name=data.name.strip(),
        prefix=new.prefix,
        token_hash=new.digest,
        expires_on=(utcnow() + timedelta(days=data.expires_in_days))
        if data.expires_in_days
        else None,
    )
    repository.add(session, token)
    await session.flush()
    return NewToken(token, user, new.plaintext)


async def list_tokens(session: AsyncSession, principal: Principal) -> list[tuple[ApiToken, User]]:
    stmt = tenancy.scoped(repository.live_tokens(), ApiToken, principal)
    return await repository.fetch(session, stmt)


async def delete(session: AsyncSession, principal: Principal | None, ref: str) -> ApiToken:
    """Delete by numeric id or visible prefix: within the principal's scope, or across all
    workspaces for the operator (``principal=None``, the CLI)."""
    if "\x00" in ref:
        raise NotFound(f"No token {ref!r}.")
    stmt = repository.by_id_or_prefix(ref)
    if principal is not None:
        stmt = tenancy.scoped(stmt, ApiToken, principal)
    rows = await repository.fetch(session, stmt)
    if not rows:
        raise NotFound(f"No token {ref}.")
    if len(rows) > 1:
        raise InvalidArgs(f"{ref} matches several tokens; use the numeric id.", field="token")
    token = rows[0][0]
    if principal is not None and token.kind == TokenKind.COMPANY and not principal.has_scope(ADMIN):
        raise Forbidden("Only administrators can delete company tokens.")
    token.deleted_on = utcnow()
    await changes.bump(session)
    return token


async def create_for(session: AsyncSession, principal: Principal, data: TokenCreate) -> NewToken:
    """A token created through the API, for the calling token's user."""
    found = await repository.get_member(session, principal.workspace_id, principal.user_id)
    if found is None:
        raise Forbidden("The calling token has no user in this workspace.")
    user, membership = found
    return await create(session, user, membership, data)


def to_out(token: ApiToken, user: User) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        kind=TokenKind(token.kind).value,
        api_version="v3" if token.api_version == "v3" else "v2",
        prefix=token.prefix,
        user=TokenUser(uuid=user.uuid, email=user.email),
        created_on=format_datetime(token.created_on) or "",
        last_used_on=format_datetime(token.last_used_on),
        expires_on=format_datetime(token.expires_on),
    )


def to_created(new: NewToken) -> TokenCreated:
    return TokenCreated(**to_out(new.token, new.user).model_dump(), token=new.plaintext)
