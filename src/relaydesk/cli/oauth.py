"""``relaydesk oauth-client …``: register OAuth applications as the operator (the same
service as ``POST /api/v3/oauth-clients``; each command commits).

Every ``relaydesk`` command imports this module to register the sub-app, so the services and
schemas are imported inside the commands (see ``relaydesk.cli.main``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from relaydesk.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

oauth_client_app = typer.Typer(
    help="OAuth 2.0 clients (applications users authorize).", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only (for scripts).")]
Workspace = Annotated[str, typer.Option(help="Workspace UUID.")]


@oauth_client_app.command("create")
def oauth_client_create(
    workspace: Workspace,
    name: Annotated[str, typer.Option(help="Shown to users on the consent page.")],
    redirect_uri: Annotated[
        list[str],
        typer.Option(
            "--redirect-uri",
            help="Exact redirect URI (https; http only on loopback); repeat for several.",
        ),
    ],
    public: Annotated[
        bool, typer.Option("--public", help="No secret (browser/native app); PKCE required.")
    ] = False,
    allow_implicit: Annotated[
        bool,
        typer.Option(
            "--allow-implicit", help="Also allow the implicit grant (response_type=token)."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Register a client. Prints its client_id and, for a confidential client, its
    client_secret (shown this once, stored hashed)."""
    from relaydesk.cli.main import _err, _operator_in, _print_json, _print_object, _run
    from relaydesk.platform.oauth import service as oauth
    from relaydesk.platform.oauth.schemas import OAuthClientCreate

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        data = OAuthClientCreate(
            name=name, redirect_uris=redirect_uri, public=public, allow_implicit=allow_implicit
        )
        return oauth.to_created(await oauth.create(session, principal, data))

    result = _run(get_settings(), work)
    if json_:
        _print_json(result)
    else:
        _print_object("OAuth client created", result)
        if result.client_secret:
            _err().print("[yellow]Copy the client secret now: it is not shown again.[/yellow]")


@oauth_client_app.command("list")
def oauth_client_list(workspace: Workspace, json_: JsonOpt = False) -> None:
    """List a workspace's OAuth clients (never their secrets)."""
    from relaydesk.cli.main import _operator_in, _print_json, _print_list, _run
    from relaydesk.platform.oauth import service as oauth

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        return [
            oauth.to_out(c, principal.workspace_uuid)
            for c in await oauth.list_clients(session, principal)
        ]

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
    else:
        _print_list("OAuth clients", rows, ["client_id", "name", "public", "created_on"])


@oauth_client_app.command("delete")
def oauth_client_delete(
    workspace: Workspace,
    client_id: Annotated[str, typer.Argument(metavar="CLIENT_ID")],
) -> None:
    """Delete a client; every token it holds stops working at once."""
    from relaydesk.cli.main import _err, _operator_in, _run
    from relaydesk.platform.oauth import service as oauth

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        return await oauth.delete(session, principal, client_id)

    _run(get_settings(), work)
    _err().print(f"deleted OAuth client {client_id}")
