"""``relaydesk`` command line (Typer + rich). Every data command has ``--json``: the object (or
a JSON array for lists) is then the only thing on stdout.

Start-up time: every command, the webhook ``worker`` included, imports this module (and
``cli.webhooks`` and ``cli.worker``) just to register the commands. So at module level they
import only Typer, the option enums and the settings; each command imports the services,
schemas, database engine and rich it needs in its own body, and ``worker`` imports nothing of
the other commands'. tests/test_cli_startup.py keeps it that way.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError  # loaded by relaydesk.config anyway

from relaydesk.cli.keys import keys_app
from relaydesk.cli.oauth import oauth_client_app
from relaydesk.cli.webhooks import webhook_app
from relaydesk.cli.worker import worker
from relaydesk.config import Settings, get_settings
from relaydesk.exceptions import RelaydeskError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.ext.asyncio import AsyncSession

    from relaydesk.infra.auth.principal import Principal

T = TypeVar("T")

app = typer.Typer(
    name="relaydesk",
    help="Relaydesk server: serve the API, run migrations, manage workspaces, users and tokens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
user_app = typer.Typer(help="Users and their role in a workspace.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(webhook_app, name="webhook")
app.add_typer(keys_app, name="keys")
app.add_typer(oauth_client_app, name="oauth-client")
app.command()(worker)


@cache
def _out() -> Console:
    """rich console on stdout (rich is imported when a command first prints through it)."""
    from rich.console import Console

    return Console()


@cache
def _err() -> Console:
    """rich console on stderr: messages, warnings and errors."""
    from rich.console import Console

    return Console(stderr=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only (for scripts).")]


class PlanChoice(StrEnum):
    standard = "standard"
    pro = "pro"
    enterprise = "enterprise"


class KindChoice(StrEnum):
    personal = "personal"
    company = "company"


class VersionChoice(StrEnum):
    v2 = "v2"
    v3 = "v3"


class RoleChoice(StrEnum):
    """``relaydesk.models.Role``'s values (importing the models would load SQLAlchemy for every
    command; tests/test_cli_startup.py checks that the two stay equal)."""

    administrator = "administrator"
    editor = "editor"
    agent = "agent"
    viewer = "viewer"


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err().print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` in one transaction (committed when it returns)."""
    # imported here, not at module level: SQLAlchemy is for the commands that use the database
    from relaydesk.db.engine import create_engine, create_sessionmaker
    from relaydesk.db.migrate import ensure_upgraded

    ensure_upgraded(settings.effective_database_url)

    async def main() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise _fail(details, 2) from None
    except RelaydeskError as exc:
        extra = ""
        errors = getattr(exc, "errors", None)
        if errors:
            extra = " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise _fail(f"{exc.message}{extra}", 2 if exc.status == 400 else 1) from None


async def _operator_in(session: AsyncSession, workspace_uuid: str) -> Principal:
    """The operator (the CLI: administrator rights, company scope) acting in the workspace
    with this uuid; NotFound if there is none."""
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.infra.auth.principal import Principal

    ws = await workspaces.get_by_uuid(session, workspace_uuid)
    return Principal.operator(ws.id, ws.uuid, ws.plan)


def _print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _print_object(title: str, data: BaseModel) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in data.model_dump(mode="json").items():
        table.add_row(key, "" if value is None else str(value))
    _out().print(table)


def _print_list(title: str, rows: Sequence[BaseModel], columns: Sequence[str]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        data = row.model_dump(mode="json")
        table.add_row(*("" if data.get(c) is None else str(data.get(c)) for c in columns))
    _out().print(table)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from relaydesk.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    _err().print("database is up to date")


@workspace_app.command("create")
def workspace_create(
    name: str,
    plan: Annotated[
        PlanChoice, typer.Option(help="Plan (sets the rate limits).")
    ] = PlanChoice.standard,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 code, e.g. RW.")] = None,
    language: Annotated[
        list[str] | None, typer.Option("--language", help="ISO 639-3 code; repeat for several.")
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    json_: JsonOpt = False,
) -> None:
    """Create a workspace; prints it, including its uuid."""
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.domains.workspace.schemas import WorkspaceCreate

    async def work(session: AsyncSession) -> Any:
        data = WorkspaceCreate(
            name=name, plan=plan.value, country=country, languages=language or [], timezone=timezone
        )
        return workspaces.to_admin(await workspaces.create(session, data), get_settings())

    result = _run(get_settings(), work)
    _print_json(result) if json_ else _print_object("Workspace created", result)


@workspace_app.command("list")
def workspace_list(json_: JsonOpt = False) -> None:
    """List workspaces."""
    from relaydesk.domains.workspace import service as workspaces

    async def work(session: AsyncSession) -> Any:
        return [workspaces.to_admin(w, get_settings()) for w in await workspaces.list_all(session)]

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
    else:
        _print_list("Workspaces", rows, ["uuid", "name", "plan", "country", "created_on"])


def _limit(value: str | None, name: str) -> int | None:
    """``default`` → None (back to the plan's); otherwise a positive integer."""
    if value is None or value == "default":
        return None
    try:
        number = int(value)
    except ValueError:
        raise _fail(f"--{name} takes a positive integer or 'default', not {value!r}", 2) from None
    if number < 1:
        raise _fail(f"--{name} must be at least 1 (or 'default')", 2)
    return number


@workspace_app.command("update")
def workspace_update(
    uuid: str,
    plan: Annotated[PlanChoice | None, typer.Option(help="New plan.")] = None,
    limit_minute: Annotated[
        str | None, typer.Option(metavar="N|default", help="Requests per minute override.")
    ] = None,
    limit_day: Annotated[
        str | None, typer.Option(metavar="N|default", help="Requests per UTC day override.")
    ] = None,
    limit_endpoint_hour: Annotated[
        str | None,
        typer.Option(metavar="N|default", help="Requests per hour per endpoint group override."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a workspace's plan or rate-limit overrides ('default' = the plan's value)."""
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.domains.workspace.schemas import WorkspaceUpdate

    changes: dict[str, Any] = {}
    if plan is not None:
        changes["plan"] = plan.value
    for name, value in (
        ("limit_minute", limit_minute),
        ("limit_day", limit_day),
        ("limit_endpoint_hour", limit_endpoint_hour),
    ):
        if value is not None:
            changes[name] = _limit(value, name.replace("_", "-"))

    async def work(session: AsyncSession) -> Any:
        ws = await workspaces.get_by_uuid(session, uuid)
        await workspaces.update(session, ws, WorkspaceUpdate(**changes))
        return workspaces.to_admin(ws, get_settings())

    result = _run(get_settings(), work)
    _print_json(result) if json_ else _print_object("Workspace updated", result)


@user_app.command("create")
def user_create(
    email: str,
    workspace: Annotated[str, typer.Option(help="Workspace UUID.")],
    role: Annotated[RoleChoice, typer.Option(help="Role in the workspace.")] = RoleChoice.viewer,
    password: Annotated[
        str | None, typer.Option(help="Portal password (at least 8 characters).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create a user (or add an existing one) with a role in a workspace."""
    from relaydesk.domains.users import service as users
    from relaydesk.domains.users.schemas import UserCreate
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.models import Role

    async def work(session: AsyncSession) -> Any:
        ws = await workspaces.get_by_uuid(session, workspace)
        member = await users.create(
            session, ws, UserCreate(email=email, role=Role(role.value), password=password)
        )
        return users.to_out(member, ws)

    result = _run(get_settings(), work)
    _print_json(result) if json_ else _print_object("User created", result)


@user_app.command("delete")
def user_delete(email: str) -> None:
    """Delete a user: their tokens stop working at once."""
    from relaydesk.domains.users import service as users

    async def work(session: AsyncSession) -> Any:
        return await users.delete(session, email)

    _run(get_settings(), work)
    _err().print(f"deleted {email.lower()}")


@token_app.command("create")
def token_create(
    workspace: Annotated[str, typer.Option(help="Workspace UUID.")],
    user: Annotated[str, typer.Option(help="Email of the user the token belongs to.")],
    kind: Annotated[KindChoice, typer.Option(help="personal or company.")] = KindChoice.personal,
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "API token",
    api_version: Annotated[VersionChoice, typer.Option(help="v2 or v3.")] = VersionChoice.v2,
    expires_in_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API token. The plaintext is printed this once (JSON key "token")."""
    from relaydesk.domains.users import service as users
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.platform.tokens import service as tokens
    from relaydesk.platform.tokens.schemas import TokenCreate

    async def work(session: AsyncSession) -> Any:
        ws = await workspaces.get_by_uuid(session, workspace)
        member = await users.get_member(session, ws, user)
        data = TokenCreate(
            name=name,
            kind=kind.value,
            api_version=api_version.value,
            expires_in_days=expires_in_days,
        )
        new = await tokens.create(session, member.user, member.membership, data)
        return tokens.to_created(new)

    result = _run(get_settings(), work)
    if json_:
        _print_json(result)
    else:
        _print_object("Token created", result)
        _err().print("[yellow]Copy the token now: it is not shown again.[/yellow]")


@token_app.command("list")
def token_list(
    workspace: Annotated[str, typer.Option(help="Workspace UUID.")], json_: JsonOpt = False
) -> None:
    """List a workspace's tokens (never their plaintext)."""
    from relaydesk.platform.tokens import service as tokens

    async def work(session: AsyncSession) -> Any:
        principal = await _operator_in(session, workspace)
        return [tokens.to_out(t, u) for t, u in await tokens.list_tokens(session, principal)]

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
    else:
        columns = ["id", "prefix", "name", "kind", "api_version", "created_on", "last_used_on"]
        _print_list("Tokens", rows, [*columns, "expires_on"])


@token_app.command("revoke")
def token_revoke(ref: Annotated[str, typer.Argument(metavar="ID_OR_PREFIX")]) -> None:
    """Delete a token by id or visible prefix; the next request with it fails."""
    from relaydesk.platform.tokens import service as tokens

    async def work(session: AsyncSession) -> Any:
        return await tokens.delete(session, None, ref)

    token = _run(get_settings(), work)
    _err().print(f"revoked token {token.id} ({token.prefix}…)")


async def _seed_demo(session: AsyncSession, base_url: str) -> dict[str, str] | None:
    from relaydesk.domains.users import service as users
    from relaydesk.domains.users.schemas import UserCreate
    from relaydesk.domains.workspace import service as workspaces
    from relaydesk.domains.workspace.schemas import WorkspaceCreate
    from relaydesk.models import Role
    from relaydesk.platform.tokens import service as tokens
    from relaydesk.platform.tokens.schemas import TokenCreate

    if await workspaces.count(session) > 0:
        return None
    ws = await workspaces.create(
        session, WorkspaceCreate(name="Demo Workspace", languages=["eng"], plan="standard")
    )
    password = secrets.token_urlsafe(12)
    member = await users.create(
        session,
        ws,
        UserCreate(email="admin@example.com", role=Role.ADMINISTRATOR, password=password),
    )
    new = await tokens.create(
        session,
        member.user,
        member.membership,
        TokenCreate(name="Demo company token", kind="company"),
    )
    return {
        "workspace": ws.uuid,
        "email": member.user.email,
        "password": password,
        "token": new.plaintext,
        "base_url": base_url,
    }


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[
        bool, typer.Option(help="On an empty database, create a demo workspace and token.")
    ] = True,
) -> None:
    """Migrate the database, then serve the HTTP API."""
    import uvicorn

    if "RELAYDESK_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        os.environ["RELAYDESK_BASE_URL"] = f"http://{shown}:{port}"
        get_settings.cache_clear()
    settings = get_settings()

    async def work(session: AsyncSession) -> Any:
        return await _seed_demo(session, settings.base_url) if demo else None

    seeded = _run(settings, work)
    lines = [f"Relaydesk API host: {settings.base_url}"]
    if seeded:
        lines += [
            "Created a demo workspace on this empty database:",
            f"  workspace uuid : {seeded['workspace']}",
            f"  admin login    : {seeded['email']} / {seeded['password']}",
            f"  company token  : {seeded['token']}  (shown only now)",
            f'  try it         : curl -H "Authorization: Token {seeded["token"]}" '
            f"{settings.base_url}/api/v2/workspace.json",
            f"  portal         : {settings.base_url}/ (sign in with the admin login above)",
            f"  API docs       : {settings.base_url}/docs",
        ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    uvicorn.run(
        "relaydesk.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        log_level=settings.log_level,
        server_header=False,
    )


def main() -> None:
    app()
