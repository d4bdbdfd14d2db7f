"""Contacts and their URNs: the only place that builds SQL for them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

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
# Correlated on the outer ``contacts`` table. A URN's ``identity`` column is its wire form
# (``URN.identity``: scheme and path escaped), written with it.
_URNS_FROM = (
    "FROM (SELECT u.identity, u.scheme, u.path FROM contact_urns u "
    "WHERE u.contact_id = contacts.id ORDER BY u.priority DESC, u.id)"
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
        "urns": f"(SELECT json_group_array(identity) {_URNS_FROM})",
        "urns_expanded": f"(SELECT json_group_array(json_object({_EXPANDED})) {_URNS_FROM})",
        "groups": "(SELECT json_group_array(json_object('uuid', uuid, 'name', name)) "
        f"{_GROUPS_FROM})",
    },
    "postgresql": {
        "urns": f"(SELECT json_agg(u.identity ORDER BY u.priority DESC, u.id) {_PG_URNS})",
        "urns_expanded": f"(SELECT json_agg(json_build_object({_EXPANDED}) "
        f"ORDER BY u.priority DESC, u.id) {_PG_URNS})",
        "groups": "(SELECT json_agg(json_build_object('uuid', g.uuid, 'name', g.name) "
        f"ORDER BY g.id) {_PG_GROUPS})",
    },
}


def _sqlite_time(column: str) -> str:
    # SQLAlchemy's SQLite dialect stores "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC)
    return f"replace({column}, ' ', 'T') || 'Z'"


def _pg_time(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# RapidPro's contact shape, key for key (the order of ContactReadSerializer). ``{fields}`` is
# filled in per workspace; ``{urns}`` / ``{groups}`` are the aggregates above.
_SQLITE_DOC = (
    "json_object('uuid', contacts.uuid, 'name', contacts.name, 'status', contacts.status, "
    "'language', contacts.language, 'urns', json({urns}), 'groups', json({groups}), "
    "'notes', json('[]'), 'fields', {fields}, 'flow', NULL, "
    f"'created_on', {_sqlite_time('contacts.created_on')}, "
    f"'modified_on', {_sqlite_time('contacts.modified_on')}, "
    f"'last_seen_on', {_sqlite_time('contacts.last_seen_on')}, "
    "'blocked', json(CASE contacts.status WHEN 'blocked' THEN 'true' ELSE 'false' END), "
    "'stopped', json(CASE contacts.status WHEN 'stopped' THEN 'true' ELSE 'false' END))"
)
_PG_DOC = (
    "json_build_object('uuid', contacts.uuid, 'name', contacts.name, "
    "'status', contacts.status, 'language', contacts.language, "
    "'urns', coalesce({urns}, '[]'::json), 'groups', coalesce({groups}, '[]'::json), "
    "'notes', '[]'::json, 'fields', {fields}, 'flow', NULL, "
    f"'created_on', {_pg_time('contacts.created_on')}, "
    f"'modified_on', {_pg_time('contacts.modified_on')}, "
    f"'last_seen_on', {_pg_time('contacts.last_seen_on')}, "
    "'blocked', contacts.status = 'blocked', 'stopped', contacts.status = 'stopped')::text"
)
# a deleted contact keeps only its uuid and times (ContactReadSerializer on an inactive one)
_SQLITE_DELETED_DOC = (
    "json_object('uuid', contacts.uuid, 'name', NULL, 'status', NULL, 'language', NULL, "
    "'urns', json('[]'), 'groups', json('[]'), 'notes', json('[]'), 'fields', json('{{}}'), "
    "'flow', NULL, "
    f"'created_on', {_sqlite_time('contacts.created_on')}, "
    f"'modified_on', {_sqlite_time('contacts.modified_on')}, "
    f"'last_seen_on', {_sqlite_time('contacts.last_seen_on')}, "
    "'blocked', NULL, 'stopped', NULL)"
)
_PG_DELETED_DOC = (
    "json_build_object('uuid', contacts.uuid, 'name', NULL, 'status', NULL, 'language', NULL, "
    "'urns', '[]'::json, 'groups', '[]'::json, 'notes', '[]'::json, 'fields', '{{}}'::json, "
    "'flow', NULL, "
    f"'created_on', {_pg_time('contacts.created_on')}, "
    f"'modified_on', {_pg_time('contacts.modified_on')}, "
    f"'last_seen_on', {_pg_time('contacts.last_seen_on')}, "
    "'blocked', NULL, 'stopped', NULL)::text"
)

# What ``values.render`` returns unchanged, checked in SQL. A number is certainly canonical
# when it is an integer of at most 19 digits without leading zeros (the rest: Python decides).
_SQLITE_PLAIN_NUMBER = (
    "({v} = '0' OR ((({v} GLOB '[1-9]*' AND length({v}) <= 19) "
    "OR ({v} GLOB '-[1-9]*' AND length({v}) <= 20)) AND substr({v}, 2) NOT GLOB '*[^0-9]*'))"
)
_PG_CANONICAL_NUMBER = "'^(0|-?[1-9][0-9]{{0,18}})(\\.[0-9]{{0,7}}[1-9])?$'"


def _field_path(key: str) -> str:
    if not key.replace("_", "").isalnum() or not key.isascii():  # keys are [a-z][a-z0-9_]*
        raise ValueError(f"unexpected field key {key!r}")
    return key


def _fields_sql(dialect: str, fields: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(the ``fields`` object of the wire shape, a condition true when a row needs Python to
    render its fields): text values go out as stored; numbers as stored when canonical;
    datetimes always through Python (they are re-rendered in the workspace's time zone)."""
    if not fields:
        return ("json('{}')" if dialect == "sqlite" else "'{}'::json"), "0 = 1"
    parts: list[str] = []
    needs: list[str] = []
    for key, value_type in fields:
        name = _field_path(key)
        if dialect == "sqlite":
            path = f"'$.\"{name}\"'"
            value = f"json_extract(contacts.fields, {path})"
            kind = f"json_type(contacts.fields, {path})"
            parts.append(f"'{name}', {value}")
            needs.append(f"coalesce({kind}, 'null') NOT IN ('text', 'null')")
            if value_type == "number":
                plain = _SQLITE_PLAIN_NUMBER.format(v=value)
                needs.append(f"({kind} = 'text' AND NOT {plain})")
            elif value_type == "datetime":
                needs.append(f"{kind} = 'text'")
        else:
            value = f"(contacts.fields -> '{name}')"
            kind = f"json_typeof({value})"
            parts.append(f"'{name}', {value}")
            needs.append(f"coalesce({kind}, 'null') NOT IN ('string', 'null')")
            if value_type == "number":
                canonical = _PG_CANONICAL_NUMBER.format()
                needs.append(
                    f"({kind} = 'string' AND NOT ((contacts.fields ->> '{name}') ~ {canonical}))"
                )
            elif value_type == "datetime":
                needs.append(f"{kind} = 'string'")
    builder = "json_object" if dialect == "sqlite" else "json_build_object"
    needs_python = " OR ".join(needs) if needs else "0 = 1"
    return f"{builder}({', '.join(parts)})", needs_python


def as_documents(
    stmt: Select[Any],
    dialect: str,
    *,
    fields: Sequence[tuple[str, str]],
    deleted: bool,
    expand_urns: bool,
) -> Select[Any]:
    """The list statement's rows as ``(id, modified_on, doc, raw_fields)``: ``doc`` is the
    contact's wire JSON built by the database (URNs and groups aggregated, timestamps in the
    wire format, fields as stored); ``raw_fields`` is null unless some field value must be
    rendered by Python (:func:`relaydesk.domains.contacts.values.render`), in which case it
    holds the stored values (docs/decisions/0005)."""
    sql = _AGGREGATES.get(dialect, _AGGREGATES["postgresql"])
    sqlite = dialect == "sqlite"
    raw = "contacts.fields"
    if deleted:
        doc = _SQLITE_DELETED_DOC if sqlite else _PG_DELETED_DOC
        doc, check = doc.format(), "0 = 1"
    else:
        fields_doc, check = _fields_sql(dialect, fields)
        template = _SQLITE_DOC if sqlite else _PG_DOC
        doc = template.format(
            urns=sql["urns_expanded" if expand_urns else "urns"],
            groups=sql["groups"],
            fields=fields_doc,
        )
    raw_sql = f"CASE WHEN {check} THEN {raw if sqlite else raw + '::text'} END"
    documents: Any = stmt.with_only_columns(
        Contact.id,
        Contact.modified_on,
        literal_column(doc).label("doc"),
        literal_column(raw_sql).label("raw_fields"),
    )
    return cast("Select[Any]", documents)


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
