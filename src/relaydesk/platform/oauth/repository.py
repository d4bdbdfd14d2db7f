"""OAuth queries: async ones for the API and CLI, sync ones for Authlib's hooks (they run
inside ``AsyncSession.run_sync``, on the request's own transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relaydesk.models import Membership, Role, User, Workspace
from relaydesk.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthToken

# -- async (API, CLI, portal) -----------------------------------------------------------------


def live_clients(workspace_id: int) -> Select[OAuthClient]:
    return select(OAuthClient).where(
        OAuthClient.workspace_id == workspace_id, OAuthClient.deleted_on.is_(None)
    )


async def list_clients(session: AsyncSession, workspace_id: int) -> list[OAuthClient]:
    stmt = live_clients(workspace_id).order_by(OAuthClient.created_on.desc(), OAuthClient.id.desc())
    return list((await session.execute(stmt)).scalars())


async def get_client(
    session: AsyncSession, workspace_id: int, client_id: str
) -> OAuthClient | None:
    stmt = live_clients(workspace_id).where(OAuthClient.client_id == client_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def add(session: AsyncSession, client: OAuthClient) -> None:
    session.add(client)


async def revoke_client_tokens(session: AsyncSession, client_pk: int, now: datetime) -> None:
    await session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_id == client_pk, OAuthToken.revoked_on.is_(None))
        .values(revoked_on=now)
    )


async def member_role(session: AsyncSession, workspace_id: int, user_id: int) -> Role | None:
    role = (
        await session.execute(
            select(Membership.role).where(
                Membership.workspace_id == workspace_id, Membership.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    return Role(role) if role is not None else None


async def get_workspace(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


# -- sync (Authlib hooks) ---------------------------------------------------------------------


def client_by_client_id(db: Session, client_id: str) -> OAuthClient | None:
    stmt = select(OAuthClient).where(
        OAuthClient.client_id == client_id, OAuthClient.deleted_on.is_(None)
    )
    return db.execute(stmt).scalar_one_or_none()


def client_by_pk(db: Session, pk: int) -> OAuthClient | None:
    return db.get(OAuthClient, pk)


def code_by_hash(db: Session, code_hash: str) -> OAuthAuthorizationCode | None:
    stmt = select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_hash == code_hash)
    return db.execute(stmt).scalar_one_or_none()


def claim_code(db: Session, code_pk: int, now: datetime) -> bool:
    """Mark the code used; False when another request already did (atomic on both
    databases: the second UPDATE finds ``used_on`` set)."""
    result = db.execute(
        update(OAuthAuthorizationCode)
        .where(OAuthAuthorizationCode.id == code_pk, OAuthAuthorizationCode.used_on.is_(None))
        .values(used_on=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def token_by_access_hash(db: Session, digest: str) -> OAuthToken | None:
    stmt = select(OAuthToken).where(OAuthToken.access_token_hash == digest)
    return db.execute(stmt).scalar_one_or_none()


def token_by_refresh_hash(db: Session, digest: str) -> OAuthToken | None:
    stmt = select(OAuthToken).where(OAuthToken.refresh_token_hash == digest)
    return db.execute(stmt).scalar_one_or_none()


def claim_refresh(db: Session, token_pk: int, now: datetime) -> bool:
    """Mark the refresh token rotated; False when it was rotated or revoked meanwhile."""
    result = db.execute(
        update(OAuthToken)
        .where(
            OAuthToken.id == token_pk,
            OAuthToken.rotated_on.is_(None),
            OAuthToken.revoked_on.is_(None),
        )
        .values(rotated_on=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def revoke_family(db: Session, family_id: str, now: datetime) -> None:
    db.execute(
        update(OAuthToken)
        .where(OAuthToken.family_id == family_id, OAuthToken.revoked_on.is_(None))
        .values(revoked_on=now)
    )


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def member_role_sync(db: Session, workspace_id: int, user_id: int) -> Role | None:
    role = db.execute(
        select(Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    ).scalar_one_or_none()
    return Role(role) if role is not None else None
