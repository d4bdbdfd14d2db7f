"""Contact groups and their memberships: the only place that builds SQL for them.

Contacts and URNs are read directly (models are a lower layer; the contacts domain calls this
one, so it can't be imported here). Lists of ids are sent in chunks so no statement exceeds
the drivers' bind-parameter limits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.tenancy import scoped
from relaydesk.models import (
    Contact,
    ContactGroup,
    ContactStatus,
    ContactURN,
    Workspace,
    contact_group_members,
)

CHUNK = 1_000
members = contact_group_members.c


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterable[list[int]]:
    batch: list[int] = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- groups ------------------------------------------------------------------------------------


def visible(principal: Principal) -> Select[ContactGroup]:
    """Active groups the principal may see (its workspace; its own for personal tokens)."""
    stmt = select(ContactGroup).where(ContactGroup.is_active.is_(True))
    return scoped(stmt, ContactGroup, principal)


async def list_visible(session: AsyncSession, principal: Principal) -> list[ContactGroup]:
    result = await session.execute(visible(principal).order_by(ContactGroup.id))
    return list(result.scalars())


async def get_visible(
    session: AsyncSession, principal: Principal, uuid: str
) -> ContactGroup | None:
    result = await session.execute(visible(principal).where(ContactGroup.uuid == uuid))
    return result.scalar_one_or_none()


async def active_names(session: AsyncSession, workspace_id: int) -> list[tuple[int, str]]:
    """(id, name) of the workspace's active groups, whoever owns them: names are unique per
    workspace."""
    stmt = select(ContactGroup.id, ContactGroup.name).where(
        ContactGroup.workspace_id == workspace_id, ContactGroup.is_active.is_(True)
    )
    return [(int(gid), name) for gid, name in (await session.execute(stmt)).all()]


async def count_user_groups(session: AsyncSession, workspace_id: int) -> int:
    """Active, non-system groups of the workspace (what the workspace limit counts)."""
    stmt = select(func.count(ContactGroup.id)).where(
        ContactGroup.workspace_id == workspace_id,
        ContactGroup.is_active.is_(True),
        ContactGroup.is_system.is_(False),
    )
    return int((await session.execute(stmt)).scalar_one())


async def smart_groups(session: AsyncSession, workspace_id: int) -> list[ContactGroup]:
    stmt = (
        select(ContactGroup)
        .where(
            ContactGroup.workspace_id == workspace_id,
            ContactGroup.is_active.is_(True),
            ContactGroup.query.is_not(None),
        )
        .order_by(ContactGroup.id)
    )
    return list((await session.execute(stmt)).scalars())


def add(session: AsyncSession, group: ContactGroup) -> None:
    session.add(group)


# -- counts and memberships --------------------------------------------------------------------


async def member_counts(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, int]:
    """Active (not deleted) contacts per group: one grouped query."""
    if not group_ids:
        return {}
    stmt = (
        select(members.group_id, func.count())
        .select_from(contact_group_members.join(Contact, Contact.id == members.contact_id))
        .where(members.group_id.in_(group_ids), Contact.is_active.is_(True))
        .group_by(members.group_id)
    )
    return {int(group_id): int(n) for group_id, n in (await session.execute(stmt)).all()}


async def groups_of_contacts(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, list[ContactGroup]]:
    """Active groups per contact (in creation order); one query per 1,000 contacts."""
    found: dict[int, list[ContactGroup]] = defaultdict(list)
    for batch in chunks(dict.fromkeys(contact_ids)):
        stmt = (
            select(members.contact_id, ContactGroup)
            .join(ContactGroup, ContactGroup.id == members.group_id)
            .where(members.contact_id.in_(batch), ContactGroup.is_active.is_(True))
            .order_by(members.contact_id, ContactGroup.id)
        )
        for contact_id, group in (await session.execute(stmt)).all():
            found[int(contact_id)].append(group)
    return dict(found)


async def group_refs_of_contacts(
    session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, list[Any]]:
    """Like :func:`groups_of_contacts`, as plain ``(uuid, name)`` rows: for rendering pages."""
    found: dict[int, list[Any]] = defaultdict(list)
    for batch in chunks(dict.fromkeys(contact_ids)):
        stmt = (
            select(members.contact_id, ContactGroup.uuid, ContactGroup.name)
            .join(ContactGroup, ContactGroup.id == members.group_id)
            .where(members.contact_id.in_(batch), ContactGroup.is_active.is_(True))
            .order_by(members.contact_id, ContactGroup.id)
        )
        for row in (await session.execute(stmt)).all():
            found[int(row.contact_id)].append(row)
    return dict(found)


async def member_ids(
    session: AsyncSession, group_id: int, contact_ids: Sequence[int] | None = None
) -> set[int]:
    """The group's members (restricted to ``contact_ids`` when given)."""
    base = select(members.contact_id).where(members.group_id == group_id)
    if contact_ids is None:
        return {int(cid) for cid in (await session.execute(base)).scalars()}
    found: set[int] = set()
    for batch in chunks(contact_ids):
        result = await session.execute(base.where(members.contact_id.in_(batch)))
        found.update(int(cid) for cid in result.scalars())
    return found


async def memberships(
    session: AsyncSession, contact_ids: Sequence[int], group_ids: Sequence[int]
) -> set[tuple[int, int]]:
    """(group_id, contact_id) rows among these contacts and groups."""
    found: set[tuple[int, int]] = set()
    if not group_ids:
        return found
    for batch in chunks(contact_ids):
        stmt = select(members.group_id, members.contact_id).where(
            members.contact_id.in_(batch), members.group_id.in_(group_ids)
        )
        found.update((int(g), int(c)) for g, c in (await session.execute(stmt)).all())
    return found


async def insert_members(session: AsyncSession, rows: Iterable[tuple[int, int]]) -> None:
    """Insert (group_id, contact_id) rows; callers pass only rows that don't exist yet."""
    values = [{"group_id": g, "contact_id": c} for g, c in rows]
    for start in range(0, len(values), CHUNK):
        await session.execute(insert(contact_group_members), values[start : start + CHUNK])


async def delete_members(session: AsyncSession, group_id: int, contact_ids: Iterable[int]) -> None:
    for batch in chunks(contact_ids):
        await session.execute(
            delete(contact_group_members).where(
                members.group_id == group_id, members.contact_id.in_(batch)
            )
        )


async def delete_all_members(session: AsyncSession, group_id: int) -> None:
    await session.execute(delete(contact_group_members).where(members.group_id == group_id))


async def delete_memberships_of(session: AsyncSession, contact_ids: Iterable[int]) -> None:
    for batch in chunks(contact_ids):
        await session.execute(delete(contact_group_members).where(members.contact_id.in_(batch)))


async def existing_contact_ids(
    session: AsyncSession, workspace_id: int, contact_ids: Sequence[int]
) -> set[int]:
    found: set[int] = set()
    for batch in chunks(contact_ids):
        stmt = select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.id.in_(batch))
        found.update(int(cid) for cid in (await session.execute(stmt)).scalars())
    return found


# -- contacts, for query evaluation ------------------------------------------------------------

CONTACT_COLUMNS = (
    Contact.id,
    Contact.uuid,
    Contact.name,
    Contact.language,
    Contact.status,
    Contact.created_on,
    Contact.last_seen_on,
    Contact.fields,
    Contact.is_active,
)


async def workspace_settings(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def _urns_of(session: AsyncSession, contact_ids: list[int]) -> dict[int, list[Any]]:
    stmt = (
        select(ContactURN.contact_id, ContactURN.scheme, ContactURN.path)
        .where(ContactURN.contact_id.in_(contact_ids))
        .order_by(ContactURN.contact_id, ContactURN.priority.desc(), ContactURN.id)
    )
    urns: dict[int, list[Any]] = defaultdict(list)
    for contact_id, scheme, path in (await session.execute(stmt)).all():
        if contact_id is not None:
            urns[contact_id].append((scheme, path))
    return urns


async def contact_batches(
    session: AsyncSession,
    workspace_id: int,
    *,
    contact_ids: Sequence[int] | None = None,
    active_only: bool = True,
) -> AsyncIterator[list[tuple[Any, list[Any]]]]:
    """Batches of ≤ 1,000 (contact row, [(scheme, path), …]) of the workspace, by id.

    ``active_only``: only contacts that are not deleted and whose status is active (smart
    groups hold only those, as in RapidPro). ``contact_ids`` restricts to those contacts."""
    stmt = select(*CONTACT_COLUMNS).where(Contact.workspace_id == workspace_id)
    if active_only:
        stmt = stmt.where(Contact.is_active.is_(True), Contact.status == ContactStatus.ACTIVE.value)
    if contact_ids is not None:
        for batch in chunks(sorted(set(contact_ids))):
            rows = list((await session.execute(stmt.where(Contact.id.in_(batch)))).all())
            if rows:
                urns = await _urns_of(session, [row.id for row in rows])
                yield [(row, urns.get(row.id, [])) for row in rows]
        return
    after = 0
    while True:
        page = stmt.where(Contact.id > after).order_by(Contact.id).limit(CHUNK)
        rows = list((await session.execute(page)).all())
        if not rows:
            return
        urns = await _urns_of(session, [row.id for row in rows])
        yield [(row, urns.get(row.id, [])) for row in rows]
        if len(rows) < CHUNK:
            return
        after = rows[-1].id
