"""REST v2: ``/api/v2/contacts.json`` and ``/api/v2/contact_actions.json`` (RapidPro's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relaydesk.domains.contacts import service
from relaydesk.domains.contacts.schemas import ContactActionWrite, ContactRead, ContactWrite
from relaydesk.exceptions import InvalidArgs
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request
from relaydesk.infra.http.v2params import query_bool, query_datetime, read_json
from relaydesk.models import Contact

RATE_GROUP = "v2.contacts"

EXAMPLE_CONTACT: dict[str, Any] = {
    "uuid": "09d23a05-47fe-11e4-bfe9-b8f6b119e9ab",
    "name": "Ben Haggerty",
    "status": "active",
    "language": "eng",
    "urns": ["tel:+250788123123"],
    "groups": [{"uuid": "5a4eb79e-1b1f-4ae3-8700-09384cca385f", "name": "Customers"}],
    "notes": [],
    "fields": {"nickname": "Macklemore", "side_kick": "Ryan Lewis"},
    "flow": None,
    "created_on": "2015-11-11T13:05:57.457742Z",
    "modified_on": "2020-08-11T13:05:57.576056Z",
    "last_seen_on": "2020-07-11T13:05:57.576056Z",
    "blocked": False,
    "stopped": False,
}

CONTACTS_DOC = EndpointDoc(
    slug="contacts",
    title="Contacts",
    summary="List, create, update and delete contacts, most recently modified first. "
    "POST creates a contact (201) or, with ?uuid= or ?urn= in the URL, updates only the fields "
    "in the body (200; a ?urn= that matches nobody creates the contact, 201). DELETE with ?uuid= "
    "or ?urn= deletes it (204); no such contact: 404.",
    model=ContactRead,
    methods=("GET", "POST", "DELETE"),
    filters=(
        FieldDoc("uuid", "string", "A contact UUID, e.g. 09d23a05-47fe-11e4-bfe9-b8f6b119e9ab."),
        FieldDoc("urn", "string", "A contact URN, e.g. tel:+250788123123 (normalised first)."),
        FieldDoc("group", "string", "A group name or UUID, e.g. Customers."),
        FieldDoc("deleted", "boolean", "true: only deleted contacts (reduced shape)."),
        FieldDoc("before", "datetime", "Only contacts modified on or before this time."),
        FieldDoc("after", "datetime", "Only contacts modified on or after this time."),
        FieldDoc("expand_urns", "boolean", "true: URNs as objects (channel, scheme, path)."),
    ),
    example={"next": None, "previous": None, "results": [EXAMPLE_CONTACT]},
)

ACTIONS_DOC = EndpointDoc(
    slug="contact_actions",
    title="Contact actions",
    summary="POST performs an action on up to 100 contacts (UUIDs or URNs) at once: add or "
    "remove (with group: a manual group's UUID or name), block, unblock, interrupt, "
    "archive_messages or delete. Answers 204 with no body. interrupt and archive_messages are "
    "accepted and do nothing yet: Relaydesk has no flow runs or messages.",
    model=ContactActionWrite,
    methods=("POST",),
    example={
        "contacts": ["7acfa6d5-be4a-4bcc-8011-d1bd9dfasff3", "tel:+250783835665"],
        "action": "add",
        "group": "Testers",
    },
)


def _datetime(request: Request, name: str) -> datetime | None:
    try:
        return query_datetime(request, name)
    except OverflowError:  # a valid ISO 8601 time whose UTC form is out of range
        raw = request.query_params.get(name)
        message = f"Value {raw!r} is not a valid ISO8601 date/time."
        raise InvalidArgs("Invalid datetime.", errors={name: [message]}) from None


async def list_contacts(call: V2Request) -> dict[str, Any]:
    request = call.request
    deleted = bool(query_bool(request, "deleted"))
    before = _datetime(request, "before")
    after = _datetime(request, "after")
    expand = bool(query_bool(request, "expand_urns"))
    locale = await service.locale_for(call.session, call.principal, call.state.workspace_cache)
    listing = await service.list_statement(
        call.session,
        call.principal,
        locale,
        request.query_params,
        deleted=deleted,
        before=before,
        after=after,
        expand_urns=expand,
        field_cache=call.state.field_types_cache,
    )

    async def render(rows: Sequence[Any]) -> list[Any]:
        return service.render_page(rows, listing.fields, locale)

    return await keyset_page(
        call.session,
        listing.stmt,
        request,
        sort=Contact.modified_on,
        id_column=Contact.id,
        render=render,
        core=True,
        shape=listing.shape,
    )


async def write_contact(call: V2Request) -> Response:
    data = await read_json(call.request)
    locale = await service.locale_for(call.session, call.principal, call.state.workspace_cache)
    lookup = service.parse_lookup(call.request.query_params, locale, required=False)
    expand = bool(query_bool(call.request, "expand_urns"))
    contact, created = await service.write(call.session, call.principal, locale, lookup, data)
    [wire] = await service.render_many(
        call.session, call.principal, locale, [contact], expand_urns=expand
    )
    await call.session.commit()
    return FastJSONResponse(wire, status_code=201 if created else 200)


async def delete_contact(call: V2Request) -> Response:
    locale = await service.locale_for(call.session, call.principal, call.state.workspace_cache)
    await service.delete(call.session, call.principal, locale, call.request.query_params)
    await call.session.commit()
    return Response(status_code=204)


async def contact_actions(call: V2Request) -> Response:
    data = await read_json(call.request)
    locale = await service.locale_for(call.session, call.principal, call.state.workspace_cache)
    await service.bulk_action(call.session, call.principal, locale, data)
    await call.session.commit()
    return Response(status_code=204)


endpoints: list[V2Endpoint] = [
    V2Endpoint(
        doc=CONTACTS_DOC,
        tag="contacts",
        rate_group=RATE_GROUP,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "GET": Operation(list_contacts, "List contacts", ContactRead, paginated=True),
            "POST": Operation(
                write_contact,
                "Create or update a contact",
                ContactRead,
                201,
                body_model=ContactWrite,
            ),
            "DELETE": Operation(delete_contact, "Delete a contact", status_code=204),
        },
    ),
    V2Endpoint(
        doc=ACTIONS_DOC,
        tag="contacts",
        rate_group=RATE_GROUP,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "POST": Operation(
                contact_actions,
                "Act on many contacts",
                status_code=204,
                body_model=ContactActionWrite,
            ),
        },
    ),
]
