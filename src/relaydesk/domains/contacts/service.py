"""Contacts: list, create, update, delete and bulk actions, with RapidPro's semantics.

Validation follows Django REST framework field by field, so a request gets every field's
errors at once, in RapidPro's exact words and shapes (nested ones included:
``{"urns": {"0": ["Invalid URN: ..."]}}``); the object-level checks (``non_field_errors``) run
only when every field is valid, as in DRF.

Other domains are reached through their services: groups (``resolve``, ``groups_for_contacts``,
``set_manual_groups``, ``add_members``, ``remove_members``, ``contacts_changed``), fields
(``active_fields``) and the workspace (country, time zone, date style). Never commits.

Every change queues its webhook event in the same transaction (:func:`_emit`):
``contact.created``, ``contact.updated`` (also when a bulk action adds, removes, blocks or
unblocks: one event per contact it changed) and ``contact.deleted``, with the contact in its
REST v2 shape (:func:`render_many`). Smart group memberships that follow a contact's change
emit no group event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.db import direct
from relaydesk.domains.contacts import repository, urns, values
from relaydesk.domains.contacts.schemas import MAX_ITEMS, MAX_NAME
from relaydesk.domains.contacts.urns import URN, InvalidURN
from relaydesk.domains.fields import service as fields_service
from relaydesk.domains.groups import service as groups_service
from relaydesk.domains.workspace import service as workspace_service
from relaydesk.domains.workspace.service import WorkspaceCache
from relaydesk.exceptions import InvalidArgs, NotFound
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.tenancy import can_see
from relaydesk.kit.ids import canonical_uuid
from relaydesk.kit.time import format_datetime, utcnow
from relaydesk.kit.validation import is_language
from relaydesk.models import Contact, ContactGroup, ContactStatus, ContactURN
from relaydesk.platform.webhooks import events

LOOKUP_PARAMS = ("urn", "uuid")  # sorted, as RapidPro lists them in its messages
URN_PRIORITY = 1000  # of a contact's first URN; each next one is one less

# RapidPro's (Django REST framework's) messages
NULL = "This field may not be null."
BLANK = "This field may not be blank."
REQUIRED = "This field is required."
NOT_STRING = "Not a valid string."
NULL_CHARS = "Null characters are not allowed."
NOT_REF = "Must be a string or integer"
URN_TAKEN = "URN is in use by another contact."
TOO_MANY = f"Ensure this field has no more than {MAX_ITEMS} elements."
DELETED = "Deleted contacts can't be modified."
GROUPS_NOT_ACTIVE = "Non-active contacts can't be added to groups"
URN_IN_URL = "Field not allowed when using URN in URL"
BAD_LANGUAGE = "Not a valid ISO639-3 language code."


@dataclass(frozen=True, slots=True)
class Locale:
    """What contacts need of their workspace."""

    country: str | None
    timezone: str
    date_style: str


async def locale_for(session: AsyncSession, principal: Principal, cache: WorkspaceCache) -> Locale:
    wire = await workspace_service.read_for(session, principal, cache)
    return Locale(wire["country"], wire["timezone"], wire["date_style"])


def _detail(message: str) -> InvalidArgs:
    """A 400 with ``{"detail": ...}`` (RapidPro's invalid query errors)."""
    return InvalidArgs(message, errors={"detail": message})


class _Invalid(Exception):
    def __init__(self, errors: list[str] | dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _type_name(value: Any) -> str:
    return type(value).__name__


def _char(
    value: Any,
    *,
    allow_null: bool = False,
    allow_blank: bool = False,
    max_length: int | None = None,
    min_length: int | None = None,
) -> str | None:
    """DRF's CharField: ints and floats become text, whitespace is trimmed."""
    if value is None:
        if allow_null:
            return None
        raise _Invalid([NULL])
    if value == "" or str(value).strip() == "":
        if not allow_blank:
            raise _Invalid([BLANK])
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid([NOT_STRING])
    text = str(value).strip()
    problems = []
    if max_length is not None and len(text) > max_length:
        problems.append(f"Ensure this field has no more than {max_length} characters.")
    if min_length is not None and len(text) < min_length:
        problems.append(f"Ensure this field has at least {min_length} characters.")
    if "\x00" in text:
        problems.append(NULL_CHARS)
    if problems:
        raise _Invalid(problems)
    return text


def _list(value: Any) -> list[Any]:
    if value is None:
        raise _Invalid([NULL])
    if not isinstance(value, list):
        raise _Invalid([f'Expected a list of items but got type "{_type_name(value)}".'])
    return value


def _refs(value: Any) -> list[str]:
    """DRF's many related field: a list of at most 100 strings or integers."""
    items = _list(value)
    if len(items) > MAX_ITEMS:
        raise _Invalid([TOO_MANY])
    refs = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise _Invalid([NOT_REF])
        refs.append(str(item))
    return refs


async def _resolve_groups(
    session: AsyncSession, principal: Principal, refs: list[str], field: str
) -> list[ContactGroup]:
    for ref in refs:
        if "\x00" in ref:  # can't name anything (and PostgreSQL refuses it in a query)
            raise _Invalid([f"No such object: {ref}"])
    try:
        return await groups_service.resolve(session, principal, refs, field=field)
    except InvalidArgs as exc:
        messages = exc.errors.get(field)
        raise _Invalid(messages if isinstance(messages, list) else [exc.message]) from None


# -- listing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """A contacts list: its statement (rows of wire documents), the (key, type) of the
    workspace's active fields for :func:`render_page`, and ``shape``: every input the
    statement was built from (statements are reused per shape: ``direct.cached``)."""

    stmt: Select[Any]
    fields: list[tuple[str, str]]
    shape: tuple[Any, ...]


async def list_statement(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    params: Mapping[str, str],
    *,
    deleted: bool,
    before: datetime | None,
    after: datetime | None,
    expand_urns: bool = False,
    field_cache: fields_service.FieldTypesCache,
) -> Listing:
    """The filtered, scoped list (RapidPro's filters: uuid, urn, group, deleted, before,
    after; an unknown group matches nothing) as rows of wire documents built by the database
    (:func:`repository.as_documents`)."""
    uuid = None
    if "uuid" in params:
        uuid = canonical_uuid(params["uuid"])
        if uuid is None:
            raise _detail("Value for uuid must be a valid UUID")
    identity = None
    if params.get("urn"):
        try:
            identity = urns.lookup_identity(params["urn"], locale.country)
        except InvalidURN as exc:
            raise _detail(str(exc)) from None
    dialect = session.get_bind().dialect.name
    fields = [] if deleted else await _field_types(session, principal, field_cache)
    group_id: int | None = None
    unknown_group = False
    if ref := params.get("group"):
        found = []
        if "\x00" not in ref:  # a NUL can't name anything (and PostgreSQL refuses it)
            with contextlib.suppress(InvalidArgs):
                found = await groups_service.resolve(
                    session, principal, [ref], field="group", allow_smart=True
                )
        if found:
            group_id = found[0].id
        else:
            unknown_group = True
    owner = None if principal.is_company else principal.user_id
    shape = (
        "contacts", dialect, principal.workspace_id, owner, deleted, expand_urns, tuple(fields),
        uuid, identity, group_id, unknown_group, before, after,
    )  # fmt: skip

    def build() -> Select[Any]:
        if unknown_group:
            stmt = repository.empty_statement(principal)
        else:
            stmt = repository.list_statement(
                principal,
                deleted=deleted,
                uuid=uuid,
                urn_identity=identity,
                group_id=group_id,
                before=before,
                after=after,
            )
        return repository.as_documents(
            stmt, dialect, fields=fields, deleted=deleted, expand_urns=expand_urns
        )

    return Listing(direct.cached(shape, build), fields, shape)


def _urn_wire(scheme: str, path: str, expand: bool) -> Any:
    if not expand:
        return urns.identity_of(scheme, path)
    return {"channel": None, "scheme": scheme, "path": path, "display": None}


def _to_wire(
    contact: Contact,
    *,
    fields: Sequence[tuple[str, str]],
    urn_list: list[Any],
    group_list: list[dict[str, str]],
    timezone: str,
) -> dict[str, Any]:
    """One contact in RapidPro's shape. ``fields``: (key, value_type) of the workspace's active
    fields; ``urn_list`` / ``group_list``: the contact's URNs and groups in wire form."""
    active = contact.is_active
    status = contact.status if active else None
    wire_fields: dict[str, Any] = {}
    if active and fields:
        stored = contact.fields or {}
        wire_fields = {
            key: values.render(value_type, stored.get(key), timezone=timezone)
            for key, value_type in fields
        }
    return {
        "uuid": contact.uuid,
        "name": contact.name if active else None,
        "status": status,
        "language": contact.language if active else None,
        "urns": urn_list if active else [],
        "groups": group_list if active else [],
        "notes": [],
        "fields": wire_fields,
        "flow": None,
        "created_on": format_datetime(contact.created_on),
        "modified_on": format_datetime(contact.modified_on),
        "last_seen_on": format_datetime(contact.last_seen_on),
        "blocked": status == ContactStatus.BLOCKED if active else None,
        "stopped": status == ContactStatus.STOPPED if active else None,
    }


async def _field_types(
    session: AsyncSession,
    principal: Principal,
    cache: fields_service.FieldTypesCache | None = None,
) -> list[tuple[str, str]]:
    if cache is not None:
        return await fields_service.field_types(session, principal.workspace_id, cache)
    fields = await fields_service.active_fields(session, principal.workspace_id)
    return [(key, field.value_type) for key, field in fields.items()]


async def render_many(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    contacts: Sequence[Contact],
    *,
    expand_urns: bool = False,
) -> list[dict[str, Any]]:
    """Wire dicts for contacts (entities, e.g. after a write): fields, URNs and groups in one
    query each."""
    live = [c.id for c in contacts if c.is_active]
    fields = await _field_types(session, principal) if live else []
    urn_rows: Mapping[int, list[Any]] = {}
    groups: Mapping[int, list[Any]] = {}
    if live:
        urn_rows = await repository.urn_rows_for_contacts(session, live)
        groups = await groups_service.group_refs_for_contacts(session, live)
    return [
        _to_wire(
            c,
            fields=fields,
            urn_list=[_urn_wire(u.scheme, u.path, expand_urns) for u in urn_rows.get(c.id, [])],
            group_list=[{"uuid": g.uuid, "name": g.name} for g in groups.get(c.id, [])],
            timezone=locale.timezone,
        )
        for c in contacts
    ]


def render_page(
    rows: Sequence[Any], fields: Sequence[tuple[str, str]], locale: Locale
) -> list[Any]:
    """A list page from :func:`list_statement`'s rows: each row's document goes out as the
    database built it, except the fields of rows whose values need :func:`values.render`
    (a non-integer number, a datetime: rendered in the workspace's time zone)."""
    page: list[Any] = []
    for row in rows:
        if row.raw_fields is None:
            page.append(orjson.Fragment(row.doc))
            continue
        wire = orjson.loads(row.doc)
        stored = orjson.loads(row.raw_fields) or {}
        wire["fields"] = {
            key: values.render(value_type, stored.get(key), timezone=locale.timezone)
            for key, value_type in fields
        }
        page.append(wire)
    return page


# -- lookups (?uuid= / ?urn=) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lookup:
    by: Literal["uuid", "urn"]
    value: str  # the uuid as given, or the normalised URN identity


def parse_lookup(params: Mapping[str, str], locale: Locale, *, required: bool) -> Lookup | None:
    found: list[Lookup] = []
    if "uuid" in params:
        found.append(Lookup("uuid", params["uuid"]))
    if "urn" in params:
        try:
            found.append(Lookup("urn", urns.lookup_identity(params["urn"], locale.country)))
        except InvalidURN as exc:
            raise _detail(str(exc)) from None
    if len(found) > 1:
        raise _detail(
            "URL can only contain one of the following parameters: " + ", ".join(LOOKUP_PARAMS)
        )
    if required and not found:
        raise _detail(
            "URL must contain one of the following parameters: " + ", ".join(LOOKUP_PARAMS)
        )
    return found[0] if found else None


async def _find(session: AsyncSession, principal: Principal, lookup: Lookup) -> Contact | None:
    if "\x00" in lookup.value:
        return None
    if lookup.by == "uuid":
        return await repository.get_by_uuid(session, principal, lookup.value)
    return await repository.get_by_identity(session, principal, lookup.value)


# -- writes -------------------------------------------------------------------------------


@dataclass
class _Changes:
    """A validated POST body: only the keys given are set."""

    given: set[str]
    name: str | None = None
    language: str | None = None
    urns: list[tuple[int, URN]] | None = None  # (position posted, URN), one per identity
    groups: list[ContactGroup] | None = None
    fields: dict[str, str | None] | None = None


async def _validate_write(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    data: Mapping[str, Any],
    *,
    instance: Contact | None,
    lookup: Lookup | None,
) -> _Changes:
    errors: dict[str, Any] = {}
    changes = _Changes(
        given={k for k in ("name", "language", "urns", "groups", "fields") if k in data}
    )

    if "name" in data:
        try:
            changes.name = _char(data["name"], allow_null=True, max_length=MAX_NAME)
        except _Invalid as exc:
            errors["name"] = exc.errors

    if "language" in data:
        try:
            language = _char(data["language"], allow_null=True, min_length=3, max_length=3)
            if language and not is_language(language.lower()):
                raise _Invalid([BAD_LANGUAGE])
            changes.language = language.lower() if language else None
        except _Invalid as exc:
            errors["language"] = exc.errors

    if "urns" in data:
        try:
            changes.urns = _validate_urns(data["urns"], locale, lookup)
        except _Invalid as exc:
            errors["urns"] = exc.errors

    if "groups" in data:
        try:
            refs = _refs(data["groups"])
            groups = await _resolve_groups(session, principal, refs, "groups") if refs else []
            if instance is not None and instance.status != ContactStatus.ACTIVE and groups:
                raise _Invalid([GROUPS_NOT_ACTIVE])
            changes.groups = list({g.id: g for g in groups}.values())
        except _Invalid as exc:
            errors["groups"] = exc.errors

    if "fields" in data:
        try:
            changes.fields = await _validate_fields(session, principal, data["fields"])
        except _Invalid as exc:
            errors["fields"] = exc.errors

    if errors:
        raise InvalidArgs("Invalid contact.", errors=errors)

    if instance is not None and not instance.is_active:
        raise InvalidArgs(DELETED, errors={"non_field_errors": [DELETED]})
    if lookup is not None and lookup.by == "urn" and instance is None and not changes.urns:
        try:  # creating the contact the URL names: it gets that URN
            changes.urns = [(0, urns.validate(lookup.value, locale.country))]
        except InvalidURN as exc:
            raise InvalidArgs(str(exc), errors={"non_field_errors": [str(exc)]}) from None
        changes.given.add("urns")
    return changes


def _validate_urns(value: Any, locale: Locale, lookup: Lookup | None) -> list[tuple[int, URN]]:
    items = _list(value)
    problems: dict[str, list[str]] = {}
    parsed: list[tuple[int, URN]] = []
    for index, item in enumerate(items):
        if item is None:
            problems[str(index)] = [NULL]
        elif str(item).strip() == "":
            problems[str(index)] = [BLANK]
        else:
            try:
                urn = urns.validate(str(item), locale.country)
            except InvalidURN as exc:
                problems[str(index)] = [str(exc)]
                continue
            if len(urn.identity) > urns.MAX_LENGTH:
                problems[str(index)] = [
                    f"Ensure this field has no more than {urns.MAX_LENGTH} characters."
                ]
            else:
                parsed.append((index, urn))
    if problems:
        raise _Invalid(problems)
    if len(items) > MAX_ITEMS:
        raise _Invalid([TOO_MANY])
    if lookup is not None and lookup.by == "urn":
        raise _Invalid([URN_IN_URL])
    unique: dict[str, tuple[int, URN]] = {}
    for index, urn in parsed:
        unique.setdefault(urn.identity, (index, urn))
    return list(unique.values())


async def _validate_fields(
    session: AsyncSession, principal: Principal, value: Any
) -> dict[str, str | None]:
    if value is None:
        raise _Invalid([NULL])
    if not isinstance(value, dict):
        raise _Invalid([f'Expected a dictionary of items but got type "{_type_name(value)}".'])
    cleaned: dict[str, str | None] = {}
    problems: dict[str, list[str]] = {}
    for key, item in value.items():
        try:
            cleaned[str(key)] = _char(item, allow_null=True, allow_blank=True)
        except _Invalid as exc:
            problems[str(key)] = list(exc.errors)
    if problems:
        raise _Invalid(problems)
    if len(cleaned) > MAX_ITEMS:
        raise _Invalid([TOO_MANY])
    if cleaned:
        known = await fields_service.active_fields(session, principal.workspace_id)
        for key in cleaned:
            if key not in known:
                raise _Invalid([f"Invalid contact field key: {key}"])
    return cleaned


async def _stored_fields(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    current: Mapping[str, Any],
    posted: Mapping[str, str | None],
) -> dict[str, Any]:
    known = await fields_service.active_fields(session, principal.workspace_id)
    merged = dict(current)
    for key, text in posted.items():
        if not text:
            merged.pop(key, None)
        else:
            merged[key] = values.store(
                known[key].value_type, text, timezone=locale.timezone, date_style=locale.date_style
            )
    return merged


async def _claim_urns(
    session: AsyncSession, workspace_id: int, contact_id: int | None, wanted: list[tuple[int, URN]]
) -> dict[str, tuple[ContactURN, bool | None]]:
    """Existing rows for the wanted URNs; 400 (at the URN's position) when one belongs to
    another active contact."""
    existing = await repository.urns_by_identity(
        session, workspace_id, (u.identity for _, u in wanted)
    )
    for index, urn in wanted:
        row, owner_active = existing.get(urn.identity, (None, None))
        if row is not None and row.contact_id not in (None, contact_id) and owner_active:
            raise InvalidArgs(URN_TAKEN, errors={"urns": {str(index): [URN_TAKEN]}})
    return existing


async def _set_urns(
    session: AsyncSession,
    contact: Contact,
    wanted: list[tuple[int, URN]],
    existing: Mapping[str, tuple[ContactURN, bool | None]],
    current: Sequence[ContactURN],
) -> bool:
    """Make the contact's URNs exactly ``wanted``, in that priority order. Whether changed."""
    if [u.identity for u in current] == [u.identity for _, u in wanted]:
        return False
    keep = {u.identity for _, u in wanted}
    for row in current:
        if row.identity not in keep:
            row.contact_id = None  # detached: free for another contact
    for position, (_, urn) in enumerate(wanted):
        priority = URN_PRIORITY - position
        found = existing.get(urn.identity)
        if found is not None:
            found[0].contact_id = contact.id
            found[0].priority = priority
        else:
            repository.add(
                session,
                ContactURN(
                    workspace_id=contact.workspace_id,
                    contact_id=contact.id,
                    scheme=urn.scheme,
                    path=urn.path,
                    identity=urn.identity,
                    priority=priority,
                ),
            )
    return True


async def _flush_urns(session: AsyncSession, wanted: list[tuple[int, URN]]) -> None:
    """A concurrent request may have taken one of the URNs since we looked."""
    try:
        await session.flush()
    except IntegrityError:
        index = wanted[0][0] if wanted else 0
        raise InvalidArgs(URN_TAKEN, errors={"urns": {str(index): [URN_TAKEN]}}) from None


async def write(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    lookup: Lookup | None,
    data: Mapping[str, Any],
) -> tuple[Contact, bool]:
    """Create (no lookup, or a ``?urn=`` nobody has) or update. Returns (contact, created)."""
    instance = await _find(session, principal, lookup) if lookup is not None else None
    if lookup is not None and lookup.by == "uuid" and instance is None:
        raise NotFound("Not found.")
    changes = await _validate_write(
        session, principal, locale, data, instance=instance, lookup=lookup
    )
    if instance is None:
        contact = await _create(session, principal, locale, changes)
        await _emit(session, principal, locale, "contact.created", [contact])
        return contact, True
    if await _update(session, principal, locale, instance, changes):
        await _emit(session, principal, locale, "contact.updated", [instance])
    return instance, False


async def _emit(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    event_type: str,
    contacts: Sequence[Contact],
) -> None:
    """Queue ``event_type`` for each contact (rendered only if a webhook listens)."""
    if not contacts:
        return

    async def render() -> list[dict[str, Any]]:
        return await render_many(session, principal, locale, contacts)

    await events.emit(session, principal.workspace_id, event_type, render)


async def _create(
    session: AsyncSession, principal: Principal, locale: Locale, changes: _Changes
) -> Contact:
    wanted = changes.urns or []
    existing = await _claim_urns(session, principal.workspace_id, None, wanted)
    now = utcnow()
    contact = Contact(
        workspace_id=principal.workspace_id,
        owner_id=principal.user_id or None,
        name=changes.name,
        language=changes.language,
        status=ContactStatus.ACTIVE.value,
        fields=await _stored_fields(session, principal, locale, {}, changes.fields or {}),
        is_active=True,
        created_on=now,
        modified_on=now,
    )
    repository.add(session, contact)
    await session.flush()
    await _set_urns(session, contact, wanted, existing, [])
    await _flush_urns(session, wanted)
    if changes.groups:
        await groups_service.set_manual_groups(session, principal, contact, changes.groups)
    await groups_service.contacts_changed(session, principal.workspace_id, [contact.id])
    return contact


async def _update(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    contact: Contact,
    changes: _Changes,
) -> bool:
    """Apply ``changes``; whether anything changed (``modified_on`` moves only then)."""
    changed = False  # anything smart groups may look at
    if "name" in changes.given and changes.name != contact.name:
        contact.name = changes.name
        changed = True
    if "language" in changes.given and changes.language != contact.language:
        contact.language = changes.language
        changed = True
    if changes.urns is not None:
        existing = await _claim_urns(session, principal.workspace_id, contact.id, changes.urns)
        current = (await repository.urns_for_contacts(session, [contact.id]))[contact.id]
        if await _set_urns(session, contact, changes.urns, existing, current):
            await _flush_urns(session, changes.urns)
            changed = True
    if changes.fields is not None:
        stored = await _stored_fields(
            session, principal, locale, contact.fields or {}, changes.fields
        )
        if stored != (contact.fields or {}):
            contact.fields = stored
            changed = True
    groups_changed = False
    if changes.groups is not None:
        now_in = (await groups_service.groups_for_contacts(session, [contact.id])).get(
            contact.id, []
        )
        manual = {g.id for g in now_in if g.query is None and can_see(g, principal)}
        if manual != {g.id for g in changes.groups}:
            await groups_service.set_manual_groups(session, principal, contact, changes.groups)
            groups_changed = True
    if changed or groups_changed:
        contact.modified_on = utcnow()
    if changed:
        await groups_service.contacts_changed(session, principal.workspace_id, [contact.id])
    return changed or groups_changed


async def _release(
    session: AsyncSession, principal: Principal, contacts: Sequence[Contact]
) -> None:
    """Soft delete: inactive, URNs detached (free for others), out of every group."""
    if not contacts:
        return
    now = utcnow()
    for contact in contacts:
        contact.is_active = False
        contact.modified_on = now
    ids = [c.id for c in contacts]
    await session.flush()
    await repository.detach_urns(session, ids)
    await groups_service.contacts_changed(session, principal.workspace_id, ids)


async def delete(
    session: AsyncSession, principal: Principal, locale: Locale, params: Mapping[str, str]
) -> None:
    lookup = parse_lookup(params, locale, required=True)
    assert lookup is not None
    contact = await _find(session, principal, lookup)
    if contact is None:
        raise NotFound("Not found.")
    if contact.is_active:  # deleting a deleted contact (by uuid) is a no-op, as in RapidPro
        await _release(session, principal, [contact])
        await _emit(session, principal, locale, "contact.deleted", [contact])


# -- bulk actions -------------------------------------------------------------------------

GROUP_ACTIONS = ("add", "remove")
ACTIONS = (
    "add",
    "remove",
    "block",
    "unblock",
    "interrupt",
    "archive_messages",
    "delete",
    "archive",
)


async def _resolve_contacts(
    session: AsyncSession, principal: Principal, locale: Locale, refs: list[str]
) -> list[Contact]:
    identities: dict[str, str] = {}
    for ref in refs:
        try:
            identities[ref] = urns.normalize(ref, locale.country).identity
        except InvalidURN:
            continue
    by_uuid, by_identity = await repository.active_by_refs(
        session,
        principal,
        [r for r in refs if "\x00" not in r],
        [i for i in identities.values() if "\x00" not in i],
    )
    found: dict[int, Contact] = {}
    for ref in refs:
        contact = by_uuid.get(ref) or by_identity.get(identities.get(ref, ""))
        if contact is None:
            raise _Invalid([f"No such object: {ref}"])
        found.setdefault(contact.id, contact)
    return list(found.values())


async def bulk_action(
    session: AsyncSession, principal: Principal, locale: Locale, data: Mapping[str, Any]
) -> None:
    """``contact_actions.json``: validate like RapidPro, then act on every contact."""
    errors: dict[str, Any] = {}
    contacts: list[Contact] = []
    if "contacts" not in data:
        errors["contacts"] = [REQUIRED]
    else:
        try:
            refs = _refs(data["contacts"])
            contacts = await _resolve_contacts(session, principal, locale, refs) if refs else []
            if not contacts:
                raise _Invalid(["Contacts can't be empty."])
        except _Invalid as exc:
            errors["contacts"] = exc.errors

    action = data.get("action")
    if "action" not in data:
        errors["action"] = [REQUIRED]
    elif action is None:
        errors["action"] = [NULL]
    elif (
        isinstance(action, bool)
        or not isinstance(action, str | int | float)
        or (str(action) not in ACTIONS)
    ):
        errors["action"] = [f'"{action}" is not a valid choice.']

    group: ContactGroup | None = None
    if "group" in data:
        ref = data["group"]
        try:
            if ref is None or ref == "":
                raise _Invalid([NULL])
            if isinstance(ref, bool) or not isinstance(ref, str | int):
                raise _Invalid([NOT_REF])
            group = (await _resolve_groups(session, principal, [str(ref)], "group"))[0]
        except _Invalid as exc:
            errors["group"] = exc.errors

    if errors:
        raise InvalidArgs("Invalid contact action.", errors=errors)

    name = str(action)
    if name in GROUP_ACTIONS and group is None:
        message = f'For action "{name}" you should also specify a group'
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    if name not in GROUP_ACTIONS and group is not None:
        message = f'For action "{name}" you should not specify a group'
        raise InvalidArgs(message, errors={"non_field_errors": [message]})
    if name == "add":
        inactive = [c.uuid for c in contacts if c.status != ContactStatus.ACTIVE]
        if inactive:
            message = "Non-active contacts cannot be added to groups: " + ", ".join(inactive)
            raise InvalidArgs(message, errors={"non_field_errors": [message]})

    await _act(session, principal, locale, name, contacts, group)


async def _act(
    session: AsyncSession,
    principal: Principal,
    locale: Locale,
    action: str,
    contacts: list[Contact],
    group: ContactGroup | None,
) -> None:
    """Act on the contacts; one event per contact changed (none for a no-op)."""
    now = utcnow()
    if action in GROUP_ACTIONS:
        assert group is not None
        memberships = await groups_service.groups_for_contacts(session, [c.id for c in contacts])
        adding = action == "add"
        touched = [
            c
            for c in contacts
            if any(g.id == group.id for g in memberships.get(c.id, [])) != adding
        ]
        ids = [c.id for c in touched]
        if ids:
            if adding:
                await groups_service.add_members(session, group, ids)
            else:
                await groups_service.remove_members(session, group, ids)
        for contact in touched:
            contact.modified_on = now
        await _emit(session, principal, locale, "contact.updated", touched)
    elif action in ("block", "unblock"):
        status = ContactStatus.BLOCKED if action == "block" else ContactStatus.ACTIVE
        touched = [c for c in contacts if c.status != status]
        for contact in touched:
            contact.status = status.value
            contact.modified_on = now
        if touched:
            await session.flush()
            await groups_service.contacts_changed(
                session, principal.workspace_id, [c.id for c in touched]
            )
        await _emit(session, principal, locale, "contact.updated", touched)
    elif action == "delete":
        await _release(session, principal, contacts)
        await _emit(session, principal, locale, "contact.deleted", contacts)
    # interrupt, archive_messages (archive): nothing to do until flows and messages exist
