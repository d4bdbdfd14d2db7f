"""REST v2: ``/api/v2/fields.json`` — list, create and update contact fields (no DELETE, as
in RapidPro)."""

from __future__ import annotations

from typing import Any

from relaydesk.domains.fields import service
from relaydesk.domains.fields.schemas import FieldRead, FieldWrite
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request, write_by
from relaydesk.infra.http.v2params import query_str
from relaydesk.models import ContactField

EXAMPLE = {
    "key": "nick_name",
    "name": "Nick name",
    "type": "text",
    "featured": False,
    "priority": 0,
    "usages": {"flows": 0, "groups": 0, "campaign_events": 0},
    "agent_access": "view",
    "label": "Nick name",
    "value_type": "text",
}

DOC = EndpointDoc(
    slug="fields",
    title="Contact Fields",
    summary="Lists the custom contact fields of the workspace, newest first. A POST with "
    '{"name": "Nick name", "type": "text"} creates a field (201; the key is made from the '
    "name: lowercase, other characters replaced by _); a POST with ?key=nick_name updates its "
    "name and type (200). The legacy names label and value_type (with numeric for number) are "
    "accepted and returned too. Any token of the workspace can list; editors and "
    "administrators can write. At most 250 fields per workspace.",
    model=FieldRead,
    methods=("GET", "POST"),
    filters=(FieldDoc("key", "string", "Only the field with this key, e.g. nick_name."),),
    example={"next": None, "previous": None, "results": [EXAMPLE]},
    notes="usages counts are always 0 and agent_access is always view: Relaydesk has no "
    "flows, campaigns or agent field permissions yet.",
)


async def list_fields(call: V2Request) -> dict[str, Any]:
    stmt = service.list_query(call.principal, key=query_str(call.request, "key"))
    return await keyset_page(
        call.session,
        stmt,
        call.request,
        sort=ContactField.created_on,
        id_column=ContactField.id,
        render=service.render_many,
    )


write_field = write_by(
    "key", service.resolve, service.write, lambda result: service.to_wire(result.field)
)


endpoints = [
    V2Endpoint(
        doc=DOC,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "GET": Operation(list_fields, "List contact fields", FieldRead, paginated=True),
            "POST": Operation(
                write_field,
                "Create or update a contact field",
                FieldRead,
                201,
                body_model=FieldWrite,
            ),
        },
    )
]
