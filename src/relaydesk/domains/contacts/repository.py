"""Contacts and their URNs: the only place that builds SQL for them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.tenancy import scoped
from relaydesk.models import Contact, ContactURN, contact_group_members


def list_statement(
    principal: Principal,
    *,
    deleted: bool,
    uuid: str | None = None,
    urn_identity: str | None = None,
    group_id: int | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
) -> Select[Contact]:
    # plain rows (every column), not ORM entities: a page of 250 renders without building
    # and tracking 250 objects (rows have the same attribute names)
    stmt = scoped(select(*Contact.__table__.c), Contact, principal).where(
        Contact.is_active.is_(not deleted)
    )
    if uuid is not None:
        stmt = stmt.where(Contact.uuid == uuid)
    if urn_identity is not None:
        stmt = stmt.where(
            Contact.id.in_(
                select(ContactURN.contact_id).where(
                    ContactURN.workspace_id == principal.workspace_id,
                    ContactURN.identity == urn_identity,
                )
            )
        )
    if group_id is not None:
        stmt = stmt.where(
            Contact.id.in_(
                select(contact_group_members.c.contact_id).where(
                    contact_group_members.c.group_id == group_id
                )
            )
        )
    if before is not None:
        stmt = stmt.where(Contact.modified_on <= before)
    if after is not None:
        stmt = stmt.where(Contact.modified_on >= after)
    return stmt


# A page's URNs and groups come back with the page itself, already in their wire form (JSON
# arrays), so a list request is one query and Python only parses them (docs/decisions/0005).
# Correlated on the outer ``contacts`` table. URN paths are escaped as URN.identity does.
_ESCAPED = "replace(replace(replace({col}, '%', '%25'), '#', '%23'), '?', '%3F')"
_IDENTITY = f"{_ESCAPED.format(col='scheme')} || ':' || {_ESCAPED.format(col='path')}"
_URNS_FROM = (
    "FROM (SELECT u.scheme, u.path FROM contact_urns u WHERE u.contact_id = contacts.id "
    "ORDER BY u.priority DESC, u.id)"
)
_GROUPS_FROM = (
    "FROM (SELECT g.uuid, g.name FROM contact_group_members m JOIN contact_groups g "
    "ON g.id = m.group_id WHERE m.contact_id = contacts.id AND g.is_active ORDER BY g.id)"
)
_EXPANDED = "'channel', NULL, 'scheme', scheme, 'path', path, 'display', NULL"
_PG_URNS = "FROM contact_urns u WHERE u.contact_id = contacts.id"
_PG_GROUPS = (
    "FROM contact_group_members m JOIN contact_groups g ON g.id = m.group_id "
    "WHERE m.contact_id = contacts.id AND g.is_active"
)
_AGGREGATES = {
    # SQLite 3.40 has no ORDER BY inside aggregates: aggregate an ordered derived table
    "sqlite": {
        "urns": f"(SELECT json_group_array({_IDENTITY}) {_URNS_FROM})",
        "urns_expanded": f"(SELECT json_group_array(json_object({_EXPANDED})) {_URNS_FROM})",
        "groups": "(SELECT json_group_array(json_object('uuid', uuid, 'name', name)) "
        f"{_GROUPS_FROM})",
    },
    "postgresql": {
        "urns": f"(SELECT json_agg({_IDENTITY} ORDER BY u.priority DESC, u.id) {_PG_URNS})",
        "urns_expanded": f"(SELECT json_agg(json_build_object({_EXPANDED}) "
        f"ORDER BY u.priority DESC, u.id) {_PG_URNS})",
        "groups": "(SELECT json_agg(json_build_object('uuid', g.uuid, 'name', g.name) "
        f"ORDER BY g.id) {_PG_GROUPS})",
    },
}


def with_urns_and_groups(stmt: Select[Any], dialect: str, *, expand_urns: bool) -> Select[Any]:
    """Add ``urns_json`` and ``groups_json`` columns: JSON text of the contact's URNs (wire
    strings, or objects with ``expand_urns``) and groups (``{uuid, name}``); null or "[]"
    when there are none."""
    sql = _AGGREGATES.get(dialect, _AGGREGATES["postgresql"])
    return stmt.add_columns(
        literal_column(sql["urns_expanded" if expand_urns else "urns"]).label("urns_json"),
        literal_column(sql["groups"]).label("groups_json"),
    )


def empty_statement(principal: Principal) -> Select[Contact]:
    """A list that matches nothing (e.g. filtering by a group that doesn't exist)."""
    return scoped(select(*Contact.__table__.c), Contact, principal).where(Contact.id == -1)


async def get_by_uuid(session: AsyncSession, principal: Principal, uuid: str) -> Contact | None:
    """Active or deleted, as RapidPro's lookups."""
    stmt = scoped(select(Contact), Contact, principal).where(Contact.uuid == uuid)
    return (await session.execute(stmt)).scalars().first()


async def get_by_identity(
    session: AsyncSession, principal: Principal, identity: str
) -> Contact | None:
    stmt = (
        scoped(select(Contact), Contact, principal)
        .join(ContactURN, ContactURN.contact_id == Contact.id)
        .where(ContactURN.workspace_id == principal.workspace_id, ContactURN.identity == identity)
    )
    return (await session.execute(stmt)).scalars().first()


async def active_by_refs(
    session: AsyncSession, principal: Principal, uuids: Sequence[str], identities: Sequence[str]
) -> tuple[dict[str, Contact], dict[str, Contact]]:
    """Active contacts in scope by uuid and by URN identity (one query each)."""
    by_uuid: dict[str, Contact] = {}
    by_identity: dict[str, Contact] = {}
    base = scoped(select(Contact), Contact, principal).where(Contact.is_active.is_(True))
    if uuids:
        rows = await session.execute(base.where(Contact.uuid.in_(set(uuids))))
        by_uuid = {c.uuid: c for c in rows.scalars()}
    if identities:
        stmt = scoped(
            select(Contact, ContactURN.identity).join(
                ContactURN, ContactURN.contact_id == Contact.id
            ),
            Contact,
            principal,
        ).where(
            Contact.is_active.is_(True),
            ContactURN.workspace_id == principal.workspace_id,
            ContactURN.identity.in_(set(identities)),
        )
        rows2 = await session.execute(stmt)
        by_identity = {identity: contact for contact, identity in rows2.all()}
    return by_uuid, by_identity


async def urns_for_contacts(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, list[ContactURN]]:
    """URNs per contact, highest priority first (one query), as entities (for changes)."""
    return await _urns(session, contact_ids, select(ContactURN), scalars=True)


async def urn_rows_for_contacts(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, list[Any]]:
    """The same as plain rows with ContactURN's attribute names (read-only, for rendering:
    no ORM objects to build and track)."""
    return await _urns(session, contact_ids, select(*ContactURN.__table__.c), scalars=False)


async def _urns(
    session: AsyncSession, contact_ids: Sequence[int], stmt: Select[Any], *, scalars: bool
) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return found
    result = await session.execute(
        stmt.where(ContactURN.contact_id.in_(list(contact_ids))).order_by(
            ContactURN.contact_id, ContactURN.priority.desc(), ContactURN.id
        )
    )
    for urn in result.scalars() if scalars else result:
        if urn.contact_id is not None:
            found[urn.contact_id].append(urn)
    return found


async def urns_by_identity(
    session: AsyncSession, workspace_id: int, identities: Iterable[str]
) -> dict[str, tuple[ContactURN, bool | None]]:
    """Existing URN rows of the workspace by identity, with whether their contact is active
    (None: detached)."""
    wanted = set(identities)
    if not wanted:
        return {}
    rows = await session.execute(
        select(ContactURN, Contact.is_active)
        .outerjoin(Contact, Contact.id == ContactURN.contact_id)
        .where(ContactURN.workspace_id == workspace_id, ContactURN.identity.in_(wanted))
    )
    return {urn.identity: (urn, active) for urn, active in rows.all()}


def add(session: AsyncSession, obj: Any) -> None:
    session.add(obj)


async def detach_urns(session: AsyncSession, contact_ids: Sequence[int]) -> None:
    if contact_ids:
        await session.execute(
            update(ContactURN)
            .where(ContactURN.contact_id.in_(list(contact_ids)))
            .values(contact_id=None)
            .execution_options(synchronize_session="fetch")
        )
