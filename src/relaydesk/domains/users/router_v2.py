"""REST v2: ``/api/v2/users.json`` — the workspace's users (read-only, as in RapidPro)."""

from __future__ import annotations

from typing import Any

from relaydesk.domains.users import service
from relaydesk.domains.users.schemas import MemberRead
from relaydesk.infra.auth import scopes
from relaydesk.infra.http import drf
from relaydesk.infra.http.docs import EndpointDoc, FieldDoc
from relaydesk.infra.http.pagination import keyset_page
from relaydesk.infra.http.v2 import Operation, V2Endpoint, V2Request
from relaydesk.models import User

DOC = EndpointDoc(
    slug="users",
    title="Users",
    summary="Lists the users of the workspace, newest first. Read-only.",
    model=MemberRead,
    filters=(
        FieldDoc("uuid", "string", "Only users with these UUIDs (repeatable, at most 100)."),
        FieldDoc("email", "string", "Only users with these emails, ignoring case (repeatable)."),
        FieldDoc(
            "role",
            "string",
            "Only users with these roles (repeatable): administrator, editor, agent, viewer.",
        ),
    ),
    example={
        "next": None,
        "previous": None,
        "results": [
            {
                "uuid": "f5901b62-ba76-4003-9c62-72fdacc1b7b7",
                "name": "Bob McFlow",
                "email": "bob@flow.com",
                "first_name": "Bob",
                "last_name": "McFlow",
                "role": "editor",
                "team": None,
                "created_on": "2026-03-02T17:28:12.123456Z",
                "avatar": None,
            }
        ],
    },
    notes="team and avatar are always null: Relaydesk has no ticket teams or avatars yet.",
)


async def list_users(call: V2Request) -> dict[str, Any]:
    request = call.request
    stmt = service.list_query(
        call.principal,
        uuids=drf.query_uuids(request, "uuid"),
        emails=[e.strip() for e in request.query_params.getlist("email") if e.strip()],
        roles=[r.strip() for r in request.query_params.getlist("role") if r.strip()],
    )
    return await keyset_page(
        call.session,
        stmt,
        request,
        sort=User.created_on,
        id_column=User.id,
        render=service.member_renderer(call.session, call.principal.workspace_id),
    )


endpoints = [
    V2Endpoint(
        doc=DOC,
        read_scope=scopes.WORKSPACE_READ,
        operations={
            "GET": Operation(list_users, "List the workspace's users", MemberRead, paginated=True)
        },
    )
]
