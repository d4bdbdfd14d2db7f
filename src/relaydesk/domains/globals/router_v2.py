"""REST v2: ``/api/v2/globals.json`` — list, create and update globals (no DELETE, as in
RapidPro)."""

from __future__ import annotations

from typing import Any

from relaydesk.domains.globals import service
from relaydesk.domains.globals.schemas import GlobalRead, GlobalWrite
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request, write_by
from relaydesk.infra.http.v2params import query_datetime, query_str
from relaydesk.models import Global

DOC = EndpointDoc(
    slug="globals",
    title="Globals",
    summary="Lists the workspace's globals, most recently modified first. A POST with "
    '{"name": "Org Name", "value": "Acme Ltd"} creates a global (201; the key, org_name, is '
    'made from the name); a POST with ?key=org_name and {"value": "…"} changes its value '
    "(200). Names are at most 36 characters (letters, digits, spaces, hyphens), values at "
    "most 10,000; a workspace has at most 250 globals. Personal tokens see and change only "
    "their own globals.",
    model=GlobalRead,
    methods=("GET", "POST"),
    filters=(
        FieldDoc("key", "string", "Only the global with this key, e.g. org_name."),
        FieldDoc("before", "datetime", "Only globals modified at or before this time."),
        FieldDoc("after", "datetime", "Only globals modified at or after this time."),
    ),
    example={
        "next": None,
        "previous": None,
        "results": [
            {
                "key": "org_name",
                "name": "Org Name",
                "value": "Acme Ltd",
                "modified_on": "2026-02-27T09:06:15.456000Z",
            }
        ],
    },
)


async def list_globals(call: V2Request) -> dict[str, Any]:
    request = call.request
    stmt = service.list_query(
        call.principal,
        key=query_str(request, "key"),
        before=query_datetime(request, "before"),
        after=query_datetime(request, "after"),
    )
    return await keyset_page(
        call.session,
        stmt,
        request,
        sort=Global.modified_on,
        id_column=Global.id,
        render=service.render_many,
    )


write_global = write_by(
    "key", service.resolve, service.write, lambda result: service.to_wire(result.item)
)


endpoints = [
    V2Endpoint(
        doc=DOC,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "GET": Operation(list_globals, "List globals", GlobalRead, paginated=True),
            "POST": Operation(
                write_global,
                "Create a global or change its value",
                GlobalRead,
                201,
                body_model=GlobalWrite,
            ),
        },
    )
]
