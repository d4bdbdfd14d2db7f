"""REST v2: ``/api/v2/groups.json`` (RapidPro's ``GroupsEndpoint``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from relaydesk.domains.groups import service
from relaydesk.domains.groups.schemas import GroupRead, GroupWrite
from relaydesk.infra.auth import scopes
from relaydesk.infra.http import drf
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.responses import FastJSONResponse
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request, delete_by_uuid
from relaydesk.infra.http.v2params import query_bool, query_str, read_json
from relaydesk.models import ContactGroup

DOC = EndpointDoc(
    slug="groups",
    title="Contact Groups",
    summary="Lists contact groups, newest first, with their number of contacts. A POST with "
    '{"name": "Reporters"} creates a manual group (201); adding "query" creates a smart group '
    "holding the active contacts that match it (Relaydesk extension; see "
    "docs/api-v2-groups.md for the query language). A POST with ?uuid=… renames that group "
    "(and changes a smart group's query) (200). A DELETE with ?uuid=… deletes it (204). "
    "Names are at most 64 characters, unique in the workspace ignoring case; a workspace has "
    "at most 250 groups. Personal tokens see and change only their own groups.",
    model=GroupRead,
    methods=("GET", "POST", "DELETE"),
    filters=(
        FieldDoc("uuid", "string", "Only the group with this UUID."),
        FieldDoc("name", "string", "Only the group with this name (ignoring case)."),
        FieldDoc("manual_only", "boolean", "Only manual groups (no smart or system groups)."),
    ),
    example={
        "next": None,
        "previous": None,
        "results": [
            {
                "uuid": "5f05311e-8f81-4a67-a5b5-1501b6d6496a",
                "name": "Reporters",
                "query": None,
                "status": "ready",
                "system": False,
                "count": 315,
            },
            {
                "uuid": "0b7b1f2e-3c3f-4c5e-9a52-1d0c7e0f7f10",
                "name": "Adults in Kigali",
                "query": 'age >= 18 AND district = "Kigali"',
                "status": "ready",
                "system": False,
                "count": 1022,
            },
        ],
    },
    notes="uuid and name can't be combined.",
)


async def list_groups(call: V2Request) -> dict[str, Any]:
    request = call.request
    drf.exclusive(request, "uuid", "name")
    stmt = await service.list_query(
        call.session,
        call.principal,
        uuid=drf.query_uuid(request, "uuid"),
        name=query_str(request, "name"),
        manual_only=bool(query_bool(request, "manual_only")),
    )

    async def render(groups: Sequence[ContactGroup]) -> list[dict[str, Any]]:
        return await service.render_many(call.session, groups)

    return await keyset_page(
        call.session,
        stmt,
        request,
        sort=ContactGroup.created_on,
        id_column=ContactGroup.id,
        render=render,
    )


async def write_group(call: V2Request) -> Response:
    group = await service.target(
        call.session, call.principal, call.request.query_params.get("uuid")
    )
    data = await read_json(call.request)
    written = await service.write(call.session, call.principal, group, data)
    wire = service.to_wire(written, await service.count_of(call.session, written))
    await call.session.commit()
    return FastJSONResponse(wire, status_code=200 if group is not None else 201)


endpoints = [
    V2Endpoint(
        doc=DOC,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "GET": Operation(list_groups, "List contact groups", GroupRead, paginated=True),
            "POST": Operation(
                write_group,
                "Create or update a contact group",
                GroupRead,
                201,
                body_model=GroupWrite,
            ),
            "DELETE": Operation(
                delete_by_uuid(service.delete), "Delete a contact group", status_code=204
            ),
        },
    )
]
