"""``relaydesk keys …``: the JWT signing keys (docs/auth.md). Private keys are stored in the
database. ``rotate`` adds a key that is published in the JWKS at once and signs once
RELAYDESK_JWT_KEY_ACTIVATION_SECONDS have passed (``--now``: at once); the old key keeps
verifying until the JWTs it signed have expired. Every API process picks the change up.

Like every sub-app, this module is imported by every command: services are imported inside
the commands (see ``relaydesk.cli.main``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from relaydesk.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

keys_app = typer.Typer(
    help="JWT signing keys: rotate, list (public keys: /.well-known/jwks.json).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only (for scripts).")]
COLUMNS = ["kid", "algorithm", "signing", "created_on", "retired_on", "verify_until"]


@keys_app.command("rotate")
def keys_rotate(
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Sign with the new key at once (verifiers that cached the JWKS may briefly "
            "not know it).",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a signing key; it signs after the activation delay (default 120 s).

    The previous key stops signing then and verifies until its JWTs have expired (15 minutes,
    plus 5 minutes' grace); keys past that are deleted."""
    from datetime import timedelta

    from relaydesk.cli.main import _err, _print_json, _print_object, _run
    from relaydesk.platform.jwts import service as jwts

    settings = get_settings()
    activation = timedelta(seconds=0 if now else settings.jwt_key_activation_seconds)

    async def work(session: AsyncSession) -> Any:
        row = await jwts.rotate(session, activation=activation)
        listed = jwts.keys_out(await jwts.list_keys(session))
        return next(k for k in listed if k.kid == row.kid)

    result = _run(settings, work)
    if json_:
        _print_json(result)
    else:
        _print_object("Signing key added", result)
        when = "now" if now else f"in {activation.total_seconds():g} s"
        _err().print(f"It is in the JWKS now and signs new JWTs {when}; older JWTs stay valid.")


@keys_app.command("list")
def keys_list(json_: JsonOpt = False) -> None:
    """List the signing keys, newest first (never their private part)."""
    from relaydesk.cli.main import _print_json, _print_list, _run
    from relaydesk.platform.jwts import service as jwts

    async def work(session: AsyncSession) -> Any:
        return jwts.keys_out(await jwts.list_keys(session))

    rows = _run(get_settings(), work)
    if json_:
        _print_json(rows)
    else:
        _print_list("Signing keys", rows, COLUMNS)
