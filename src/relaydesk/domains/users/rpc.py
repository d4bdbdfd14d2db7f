"""RPC methods for the caller: ``agent.me``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from relaydesk.domains.workspace import service as workspaces
from relaydesk.infra.auth import scopes
from relaydesk.infra.http.rpc import Call, Methods, NoArgs

methods = Methods()


class AgentOut(BaseModel):
    uuid: str
    email: str
    role: str = Field(description="administrator, editor, agent or viewer.")


class AgentWorkspace(BaseModel):
    uuid: str
    name: str


class AgentMe(BaseModel):
    agent: AgentOut = Field(description="The user the credential acts as.")
    workspace: AgentWorkspace
    credential: str = Field(
        description='How the caller authenticated: "api_key", "jwt" (exchanged for an API '
        'key) or "oauth" (an OAuth access token).'
    )
    token_kind: str = Field(description="The API key's kind: personal or company.")
    scopes: list[str] = Field(description="The API scopes this credential has now.")


@methods.method(
    "agent.me",
    scope=None,
    example_result={
        "agent": {
            "uuid": "5f0d2c1e-3b4a-4f6e-8d7c-9a1b2c3d4e5f",
            "email": "ada@example.com",
            "role": "administrator",
        },
        "workspace": {"uuid": "7c4e1b2a-9d8f-4e3c-a1b2-c3d4e5f6a7b8", "name": "Acme Support"},
        "credential": "api_key",
        "token_kind": "personal",
        "scopes": list(scopes.ALL),
    },
)
async def me(call: Call, args: NoArgs) -> AgentMe:
    """The calling user and their workspace, how the call authenticated and its scopes.

    Any valid credential may call it (no scope needed): the simplest call to check a key.
    """
    principal = call.principal
    workspace = await workspaces.read_for(call.session, principal, call.state.workspace_cache)
    return AgentMe(
        agent=AgentOut(
            uuid=principal.user_uuid, email=principal.user_email, role=principal.role.value
        ),
        workspace=AgentWorkspace(uuid=principal.workspace_uuid, name=workspace["name"]),
        credential=principal.credential,
        token_kind=principal.token_kind.value,
        scopes=[s for s in scopes.ALL if s in principal.api_scopes],
    )
