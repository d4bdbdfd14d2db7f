"""Contact groups and memberships (RapidPro's ``ContactGroup``).

Manual groups hold the contacts put in them (``set_manual_groups``, ``add_members``,
``remove_members``, called by the contacts domain). Smart groups hold every active contact
matching their query (:mod:`relaydesk.domains.groups.query`): evaluated in full when the group
is created or its query changes, and per contact through :func:`contacts_changed`, which the
contacts domain calls after any change to contacts (fields, URNs, name, status, deletion).

Scope: personal tokens see and change only the groups their user owns; names are unique per
workspace among active groups (case-insensitively) whoever owns them, and the workspace may
have at most :data:`MAX_GROUPS` user groups.

Creating, changing and deleting a group queue ``group.created|updated|deleted`` (the group in
its REST v2 shape, :func:`render_many`) in the same transaction; membership changes made for
contacts (manual or smart) emit no group event: the contacts' own events carry their groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.domains.fields import service as fields_service
from relaydesk.domains.groups import repository
from relaydesk.domains.groups.query import (
    ContactData,
    Predicate,
    QueryEnv,
    QueryError,
    compile_query,
)
from relaydesk.domains.groups.schemas import MAX_NAME_LENGTH, MAX_QUERY_LENGTH, GroupWrite
from relaydesk.exceptions import Conflict, Forbidden, InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.http import drf
from relaydesk.infra.tenancy import can_see
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import utcnow
from relaydesk.models import Contact, ContactGroup, ContactStatus, GroupStatus, Role
from relaydesk.platform.webhooks import events

MAX_GROUPS = 250  # RapidPro's ORG_LIMIT_DEFAULTS["groups"]

# stored status → wire status (RapidPro calls a group whose query broke "invalid")
WIRE_STATUS = {
    GroupStatus.INITIALIZING.value: "initializing",
    GroupStatus.EVALUATING.value: "evaluating",
    GroupStatus.READY.value: "ready",
    GroupStatus.FAILED.value: "invalid",
}


# -- reading -----------------------------------------------------------------------------------


def to_wire(group: ContactGroup, count: int) -> dict[str, Any]:
    return {
        "uuid": group.uuid,
        "name": group.name,
        "query": group.query,
        "status": WIRE_STATUS.get(group.status, group.status),
        "system": group.is_system,
        "count": count,
    }


async def render_many(
    session: AsyncSession, groups: Sequence[ContactGroup]
) -> list[dict[str, Any]]:
    """Wire dicts for a page of groups: member counts in one grouped query."""
    counts = await repository.member_counts(session, [g.id for g in groups])
    return [to_wire(g, counts.get(g.id, 0)) for g in groups]


async def list_query(
    session: AsyncSession,
    principal: Principal,
    *,
    uuid: str | None = None,
    name: str | None = None,
    manual_only: bool = False,
) -> Select[ContactGroup]:
    """The groups list as RapidPro filters it (initializing groups are hidden)."""
    stmt = repository.visible(principal).where(
        ContactGroup.status != GroupStatus.INITIALIZING.value
    )
    if uuid is not None:
        stmt = stmt.where(ContactGroup.uuid == uuid)
    if name is not None:
        # case-insensitive in Python, so SQLite and PostgreSQL agree on non-ASCII names
        wanted = name.casefold()
        groups = await repository.list_visible(session, principal)
        stmt = stmt.where(
            ContactGroup.id.in_([g.id for g in groups if g.name.casefold() == wanted])
        )
    if manual_only:
        stmt = stmt.where(ContactGroup.query.is_(None), ContactGroup.is_system.is_(False))
    return stmt


async def get(session: AsyncSession, principal: Principal, uuid: str) -> ContactGroup:
    """An active group the principal can see, else NotFound (also for other workspaces)."""
    value = canonical_uuid(uuid)
    group = await repository.get_visible(session, principal, value) if value else None
    if group is None:
        raise NotFound("Not found.")
    return group


async def count_of(session: AsyncSession, group: ContactGroup) -> int:
    return (await repository.member_counts(session, [group.id])).get(group.id, 0)


# -- writing -----------------------------------------------------------------------------------


async def ensure_below_limit(session: AsyncSession, principal: Principal) -> None:
    if await repository.count_user_groups(session, principal.workspace_id) >= MAX_GROUPS:
        raise Conflict(drf.limit_reached(MAX_GROUPS))


async def query_env(session: AsyncSession, workspace_id: int) -> tuple[dict[str, str], QueryEnv]:
    """The workspace's fields (key → value type) and settings, as queries see them."""
    fields = await fields_service.active_fields(session, workspace_id)
    workspace = await repository.workspace_settings(session, workspace_id)
    env = QueryEnv()
    if workspace is not None:
        env = QueryEnv(
            timezone=workspace.timezone, date_style=workspace.date_style, anon=workspace.anon
        )
    return {key: f.value_type for key, f in fields.items()}, env


async def target(
    session: AsyncSession, principal: Principal, uuid: str | None
) -> ContactGroup | None:
    """What a POST acts on, checked before the body is read (as RapidPro does): the group
    with ``uuid`` (404; 403 for a system group), or None to create one (409 at the limit)."""
    ensure_editor(principal)
    if uuid is None:
        await ensure_below_limit(session, principal)
        return None
    group = await get(session, principal, uuid)
    if group.is_system:
        raise Forbidden("Cannot modify system object.")
    return group


async def write(
    session: AsyncSession,
    principal: Principal,
    group: ContactGroup | None,
    data: Mapping[str, Any],
) -> ContactGroup:
    """Create a group (``group`` None) or rename ``group``; every invalid field is reported
    at once. A ``query`` makes a new group smart (evaluated now over the workspace's active
    contacts) or changes a smart group's query (re-evaluated); a manual group can't get one."""
    parsed, errors = drf.validate_partial(GroupWrite, data)
    workspace_id = group.workspace_id if group is not None else principal.workspace_id

    name = parsed.name
    if name is None and "name" not in errors:
        errors["name"] = [drf.REQUIRED]
    elif name is not None:
        existing = await repository.active_names(session, workspace_id)
        messages = drf.name_validator(name, MAX_NAME_LENGTH)
        if drf.is_taken(name, existing, group.id if group is not None else None):
            messages.append(drf.UNIQUE)
        drf.add_error(errors, "name", messages + drf.char_validators(name, MAX_NAME_LENGTH))

    compiled = None
    if parsed.query is not None:
        messages = drf.char_validators(parsed.query, MAX_QUERY_LENGTH)
        if group is not None and group.query is None:
            messages = ["Cannot add a query to a manual group."]
        elif not messages:
            fields, env = await query_env(session, workspace_id)
            try:
                compiled = compile_query(parsed.query, fields, env)
            except QueryError as exc:
                messages = [exc.message]
        drf.add_error(errors, "query", messages)

    if errors or name is None:
        raise InvalidArgs("Invalid group.", errors=errors)

    now = utcnow()
    created = group is None
    if group is None:
        group = ContactGroup(
            workspace_id=workspace_id,
            owner_id=principal.user_id or None,
            name=name,
            query=compiled.text if compiled else None,
            status=GroupStatus.READY.value,
            is_system=False,
            is_active=True,
            created_on=now,
            modified_on=now,
        )
        repository.add(session, group)
    else:
        if not can_see(group, principal) or not group.is_active:
            raise NotFound("Not found.")
        if group.is_system:
            raise Forbidden("Cannot modify system object.")
        group.name = name
        group.modified_on = now
        if compiled is not None:
            group.query = compiled.text
            group.status = GroupStatus.READY.value
    await session.flush()
    if compiled is not None:
        await _populate(session, group, compiled.matches)
    await _emit(session, "group.created" if created else "group.updated", group)
    return group


async def _emit(session: AsyncSession, event_type: str, group: ContactGroup) -> None:
    """Queue ``event_type`` for the group (its count is queried only if a webhook listens)."""
    await events.emit(
        session, group.workspace_id, event_type, lambda: render_many(session, [group])
    )


def ensure_editor(principal: Principal) -> None:
    """RapidPro lets agents read groups but not change them."""
    if principal.role is Role.AGENT:
        raise Forbidden(drf.PERMISSION_DENIED)


async def delete(session: AsyncSession, principal: Principal, uuid: str | None) -> ContactGroup:
    """Soft-delete the group with ``uuid`` (required): it disappears and loses its members."""
    ensure_editor(principal)
    if uuid is None:
        message = "URL must contain one of the following parameters: uuid"
        raise InvalidArgs(message, errors={"detail": message})
    group = await get(session, principal, uuid)
    if group.is_system:
        raise Forbidden("Cannot delete system object.")
    group.is_active = False
    group.modified_on = utcnow()
    await session.flush()
    await _emit(session, "group.deleted", group)  # before it loses them: its last count
    await repository.delete_all_members(session, group.id)
    return group


# -- used by the contacts domain ---------------------------------------------------------------


async def resolve(
    session: AsyncSession,
    principal: Principal,
    refs: list[str],
    *,
    field: str = "groups",
    allow_smart: bool = False,
) -> list[ContactGroup]:
    """Groups by UUID or name (case-insensitive), in the order given, without duplicates.

    Unknown (or not visible) → 400 ``{field: ["No such object: <ref>"]}``; a smart group
    when ``allow_smart`` is False → 400 ``{field: ["Contact group must not be query based:
    <ref>"]}`` (RapidPro's ``ContactGroupField`` messages)."""
    groups = await repository.list_visible(session, principal) if refs else []
    by_uuid = {g.uuid: g for g in groups}
    by_name: dict[str, ContactGroup] = {}
    for g in groups:
        by_name.setdefault(g.name.casefold(), g)
    found: dict[int, ContactGroup] = {}
    for ref in refs:
        text = str(ref)
        value = canonical_uuid(text)
        group = by_uuid.get(value) if value else None
        if group is None and text:
            group = by_name.get(text.casefold())
        if group is None:
            message = f"No such object: {ref}"
            raise InvalidArgs(message, errors={field: [message]})
        if group.query is not None and not allow_smart:
            message = f"Contact group must not be query based: {ref}"
            raise InvalidArgs(message, errors={field: [message]})
        found.setdefault(group.id, group)
    return list(found.values())


async def groups_for_contacts(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, list[ContactGroup]]:
    """Active groups of each contact (contacts in no group are absent from the dict)."""
    return await repository.groups_of_contacts(session, contact_ids)


async def group_refs_for_contacts(
    session: AsyncSession, contact_ids: list[int]
) -> dict[int, list[Any]]:
    """Each contact's active groups as rows with ``uuid`` and ``name`` (for rendering: no ORM
    objects). Contacts in no group are absent."""
    return await repository.group_refs_of_contacts(session, contact_ids)


async def set_manual_groups(
    session: AsyncSession, principal: Principal, contact: Contact, groups: list[ContactGroup]
) -> None:
    """Make ``groups`` the contact's manual groups.

    Only memberships the principal can see are replaced: a personal token leaves the
    contact's groups owned by other users alone. Smart groups in ``groups`` are ignored (their
    membership comes from their query)."""
    if contact.id is None:
        await session.flush()
    wanted = {
        g.id: g
        for g in groups
        if g.query is None and g.is_active and g.workspace_id == contact.workspace_id
    }
    current = (await repository.groups_of_contacts(session, [contact.id])).get(contact.id, [])
    current_ids = {g.id for g in current}
    for group in current:
        if group.query is None and group.id not in wanted and can_see(group, principal):
            await repository.delete_members(session, group.id, [contact.id])
    await repository.insert_members(
        session, [(gid, contact.id) for gid in wanted if gid not in current_ids]
    )


async def add_members(session: AsyncSession, group: ContactGroup, contact_ids: list[int]) -> None:
    """Add contacts (of the group's workspace; others are ignored) to a group."""
    ids = await repository.existing_contact_ids(
        session, group.workspace_id, list(dict.fromkeys(contact_ids))
    )
    present = await repository.member_ids(session, group.id, sorted(ids))
    await repository.insert_members(session, [(group.id, cid) for cid in sorted(ids - present)])


async def remove_members(
    session: AsyncSession, group: ContactGroup, contact_ids: list[int]
) -> None:
    await repository.delete_members(session, group.id, dict.fromkeys(contact_ids))


def _contact_data(row: Any, urns: list[Any]) -> ContactData:
    return ContactData(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        language=row.language,
        status=row.status,
        created_on=row.created_on,
        last_seen_on=row.last_seen_on,
        fields=row.fields or {},
        urns=urns,
    )


async def _populate(session: AsyncSession, group: ContactGroup, matches: Predicate) -> None:
    """Evaluate a smart group over the workspace's active contacts (batches of 1,000)."""
    wanted: set[int] = set()
    async for batch in repository.contact_batches(session, group.workspace_id):
        wanted.update(row.id for row, urns in batch if matches(_contact_data(row, urns)))
    present = await repository.member_ids(session, group.id)
    await repository.delete_members(session, group.id, sorted(present - wanted))
    await repository.insert_members(session, [(group.id, cid) for cid in sorted(wanted - present)])


async def contacts_changed(
    session: AsyncSession, workspace_id: int, contact_ids: list[int]
) -> None:
    """Re-evaluate the workspace's smart groups for these contacts.

    Deleted contacts (``is_active`` False) lose every membership; contacts that are not
    active (blocked, stopped, archived) leave the smart groups. A smart group whose query no
    longer validates (a field it uses was deleted) is marked invalid and left as it is."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return
    smart = [
        g
        for g in await repository.smart_groups(session, workspace_id)
        if g.status == GroupStatus.READY.value
    ]
    predicates: dict[int, Predicate] = {}
    if smart:
        fields, env = await query_env(session, workspace_id)
        for group in smart:
            try:
                predicates[group.id] = compile_query(group.query or "", fields, env).matches
            except QueryError:
                group.status = GroupStatus.FAILED.value

    deleted: list[int] = []
    live: list[int] = []
    matching: dict[int, set[int]] = defaultdict(set)  # group id → contacts that match
    async for batch in repository.contact_batches(
        session, workspace_id, contact_ids=ids, active_only=False
    ):
        for row, urns in batch:
            if not row.is_active:
                deleted.append(row.id)
                continue
            live.append(row.id)
            if row.status != ContactStatus.ACTIVE.value or not predicates:
                continue
            data = _contact_data(row, urns)
            for group_id, matches in predicates.items():
                if matches(data):
                    matching[group_id].add(row.id)
    await repository.delete_memberships_of(session, deleted)
    if not predicates or not live:
        return
    present = await repository.memberships(session, live, list(predicates))
    for group_id in predicates:
        now_in = {cid for gid, cid in present if gid == group_id}
        await repository.delete_members(session, group_id, sorted(now_in - matching[group_id]))
    await repository.insert_members(
        session,
        [
            (group_id, cid)
            for group_id in predicates
            for cid in sorted(matching[group_id])
            if (group_id, cid) not in present
        ],
    )
