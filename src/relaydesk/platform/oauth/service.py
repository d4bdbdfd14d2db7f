"""OAuth clients (create, list, get, delete) and the helpers the authorization pages need.

Rules:
* Clients belong to a workspace; only administrators (or a company key, or the operator)
  manage them, and never with an OAuth token (no token can mint credentials).
* A confidential client's secret (``rdcs_…``) is shown once and stored as SHA-256 only.
* Deleting a client revokes every token it holds and bumps the auth epoch in the same
  transaction, so no process keeps one alive.

Never commits: the routers and the CLI do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.exceptions import Forbidden, NotFound
from relaydesk.infra import changes
from relaydesk.infra.auth import scopes
from relaydesk.infra.auth.principal import ADMIN, Principal
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.models import Role, Workspace
from relaydesk.models.oauth import OAuthClient
from relaydesk.platform.oauth import repository
from relaydesk.platform.oauth.schemas import OAuthClientCreate, OAuthClientCreated, OAuthClientOut

CLIENT_ID_PREFIX = "rdc_"
CLIENT_SECRET_PREFIX = "rdcs_"  # noqa: S105 (a prefix)


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    workspace_uuid: str
    secret: str | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_secret(client: OAuthClient, secret: str) -> bool:
    if not client.secret_hash or not secret:
        return False
    return hmac.compare_digest(digest(secret), client.secret_hash)


def require_admin(principal: Principal) -> None:
    if principal.credential == "oauth":
        raise Forbidden("OAuth clients cannot be managed with an OAuth access token.")
    if not principal.has_scope(ADMIN):
        raise Forbidden(
            "You do not have permission to perform this action: it needs an administrator's "
            "key or a company key."
        )


async def create(session: AsyncSession, principal: Principal, data: OAuthClientCreate) -> NewClient:
    require_admin(principal)
    secret = None if data.public else CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        workspace_id=principal.workspace_id,
        created_by_id=principal.user_id or None,
        name=data.name.strip(),
        secret_hash=digest(secret) if secret else None,
        redirect_uris=list(dict.fromkeys(data.redirect_uris)),
        is_public=data.public,
        allow_implicit=data.allow_implicit,
        created_on=utcnow(),
    )
    repository.add(session, client)
    await session.flush()
    return NewClient(client, principal.workspace_uuid, secret)


async def list_clients(session: AsyncSession, principal: Principal) -> list[OAuthClient]:
    require_admin(principal)
    return await repository.list_clients(session, principal.workspace_id)


async def get(session: AsyncSession, principal: Principal, client_id: str) -> OAuthClient:
    require_admin(principal)
    client = (
        await repository.get_client(session, principal.workspace_id, client_id)
        if "\x00" not in client_id
        else None
    )
    if client is None:
        raise NotFound("No OAuth client with this client_id.")
    return client


async def delete(session: AsyncSession, principal: Principal, client_id: str) -> OAuthClient:
    client = await get(session, principal, client_id)
    now = utcnow()
    client.deleted_on = now
    await repository.revoke_client_tokens(session, client.id, now)
    await changes.bump(session)
    return client


def to_out(client: OAuthClient, workspace_uuid: str) -> OAuthClientOut:
    return OAuthClientOut(
        client_id=client.client_id,
        name=client.name,
        redirect_uris=list(client.redirect_uris),
        public=client.is_public,
        allow_implicit=client.allow_implicit,
        workspace=workspace_uuid,
        created_on=format_datetime(client.created_on) or "",
    )


def to_created(new: NewClient) -> OAuthClientCreated:
    return OAuthClientCreated(
        **to_out(new.client, new.workspace_uuid).model_dump(), client_secret=new.secret
    )


# -- the authorization pages ------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentContext:
    workspace: Workspace
    role: Role
    scopes: list[tuple[str, str]]  # (scope, description) in the vocabulary's order


async def consent_context(
    session: AsyncSession, workspace_id: int, user_id: int, requested: str | None
) -> ConsentContext | None:
    """What the user would grant: the requested scopes (all when none are named) that their
    role allows. None when the user is not a member of the client's workspace."""
    role = await repository.member_role(session, workspace_id, user_id)
    workspace = await repository.get_workspace(session, workspace_id)
    if role is None or workspace is None or not workspace.is_active:
        return None
    wanted = frozenset(requested.split()) if requested else frozenset(scopes.ALL)
    granted = wanted & scopes.for_role(role)
    return ConsentContext(
        workspace, role, [(s, scopes.DESCRIPTIONS[s]) for s in scopes.ALL if s in granted]
    )


async def bump(session: AsyncSession) -> None:
    """Tokens were revoked in this transaction: tell every process's auth cache."""
    await changes.bump(session)
