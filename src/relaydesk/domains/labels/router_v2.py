"""REST v2: ``/api/v2/labels.json`` — list, create, rename and delete message labels."""

from __future__ import annotations

from typing import Any

from relaydesk.domains.labels import service
from relaydesk.domains.labels.schemas import LabelRead, LabelWrite
from relaydesk.infra.auth import scopes
from relaydesk.infra.http import drf
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request, delete_by_uuid, write_by
from relaydesk.infra.http.v2params import query_str
from relaydesk.models import Label

DOC = EndpointDoc(
    slug="labels",
    title="Message Labels",
    summary='Lists message labels, newest first. A POST with {"name": "Screened"} creates a '
    "label (201); with ?uuid=… it renames that label (200). A DELETE with ?uuid=… deletes it "
    "(204). Names are at most 64 characters and unique in the workspace ignoring case; a "
    "workspace has at most 250 labels. Personal tokens see and change only their own labels. "
    "count is the number of messages with the label: always 0 until Relaydesk has messages.",
    model=LabelRead,
    methods=("GET", "POST", "DELETE"),
    filters=(
        FieldDoc("uuid", "string", "Only the label with this UUID."),
        FieldDoc("name", "string", "Only the label with this name (ignoring case)."),
    ),
    example={
        "next": None,
        "previous": None,
        "results": [
            {"uuid": "5f05311e-8f81-4a67-a5b5-1501b6d6496a", "name": "Screened", "count": 0}
        ],
    },
    notes="uuid and name can't be combined.",
)


async def list_labels(call: V2Request) -> dict[str, Any]:
    request = call.request
    drf.exclusive(request, "uuid", "name")
    stmt = service.list_query(
        call.principal, uuid=drf.query_uuid(request, "uuid"), name=query_str(request, "name")
    )
    return await keyset_page(
        call.session,
        stmt,
        request,
        sort=Label.created_on,
        id_column=Label.id,
        render=service.render_many,
    )


write_label = write_by(
    "uuid", service.resolve, service.write, lambda result: service.to_wire(result.label)
)


endpoints = [
    V2Endpoint(
        doc=DOC,
        read_scope=scopes.CONTACTS_READ,
        write_scope=scopes.CONTACTS_WRITE,
        operations={
            "GET": Operation(list_labels, "List message labels", LabelRead, paginated=True),
            "POST": Operation(
                write_label,
                "Create or rename a message label",
                LabelRead,
                201,
                body_model=LabelWrite,
            ),
            "DELETE": Operation(
                delete_by_uuid(service.delete), "Delete a message label", status_code=204
            ),
        },
    )
]
