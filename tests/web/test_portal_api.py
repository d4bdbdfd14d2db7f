"""Setup > API/Developers: token list and scope, create (shown once), delete, API versions,
CSRF and usage. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.infra.auth.passwords import hash_password
from relaydesk.infra.ratelimit.memory import NullLimiter
from relaydesk.kit.time import utcnow
from relaydesk.models import ApiToken, User
from relaydesk.web.portal.api import VERSION_COOKIE
from tests.conftest import World, auth

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_TOKEN = re.compile(r'<code id="new-token" data-testid="new-token">([^<]+)</code>')
WORKSPACE = "/api/v2/workspace.json"


@pytest.fixture
async def passwords(world: World, session: AsyncSession) -> World:
    """Every user of the world can sign in with PASSWORD."""
    await session.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    await session.commit()
    return world


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    return match.group(1)


async def log_in(client: httpx.AsyncClient, email: str) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


async def create(
    client: httpx.AsyncClient, name: str, *, version: str = "v2", **fields: str
) -> httpx.Response:
    token = await csrf_token(client, f"/setup/api/tokens/new?version={version}")
    data = {"csrf_token": token, "version": version, "name": name, **fields}
    return await client.post("/setup/api/tokens", data=data)


async def delete(client: httpx.AsyncClient, token_id: int) -> httpx.Response:
    token = await csrf_token(client, "/setup/api")
    return await client.post(f"/setup/api/tokens/{token_id}/delete", data={"csrf_token": token})


def plaintext(response: httpx.Response) -> str:
    match = NEW_TOKEN.search(response.text)
    assert match is not None, response.text
    return match.group(1)


def delete_buttons(page: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'aria-label="Delete token ([^"]*)"', page)]


async def live_token(session: AsyncSession, name: str) -> ApiToken:
    session.expire_all()
    row = (
        await session.execute(
            select(ApiToken).where(ApiToken.name == name, ApiToken.deleted_on.is_(None))
        )
    ).scalar_one_or_none()
    assert row is not None, name
    return row


async def count_tokens(session: AsyncSession, **where: object) -> int:
    stmt = select(func.count()).select_from(ApiToken).where(ApiToken.deleted_on.is_(None))
    for column, value in where.items():
        stmt = stmt.where(getattr(ApiToken, column) == value)
    return int((await session.execute(stmt)).scalar_one())


# -- the page --------------------------------------------------------------------------------


async def test_setup_redirects_and_login_is_required(
    client: httpx.AsyncClient, passwords: World
) -> None:
    response = await client.get("/setup")
    assert response.status_code == 303
    assert response.headers["location"] == "/setup/api"
    for path in ("/setup/api", "/setup/api/tokens/new?version=v3"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2Fsetup%2Fapi")


async def test_admin_sees_every_token_of_the_workspace(
    client: httpx.AsyncClient, passwords: World
) -> None:
    await log_in(client, passwords.a.admin.email)
    page = await client.get("/setup/api")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "<h1>API/Developers</h1>" in text
    assert '<a data-testid="api-host" href="http://testserver">http://testserver</a>' in text
    assert '<a href="/docs">API documentation</a>' in text
    assert '<nav class="api-version" aria-label="API Version">' in text
    assert '<a href="/setup/api?version=v2" aria-current="page">Standard (v2)</a>' in text
    assert '<a href="/setup/api?version=v3" >Experimental (v3)</a>' in text
    assert '<a href="/setup/api" aria-current="page">Setup</a>' in text  # toolbar
    assert ">+ Create New Token</button>" in text
    # v2 tokens of workspace A only: the company token and the three personal ones
    assert sorted(delete_buttons(text)) == ["co", "mine", "mine", "mine"]
    assert 'data-confirm="Delete token co? Apps using it stop working at once."' in text
    assert 'class="responsive api-tokens"' in text
    for label in ("Name", "Kind", "Prefix", "Created", "Last used", "Expires"):
        assert f'data-label="{label}"' in text
    assert passwords.a.editor.email in text  # "created by"
    assert passwords.b.admin.email not in text
    assert passwords.a.company not in text  # never a plaintext
    # the company option is offered to administrators
    form = await client.get("/setup/api/tokens/new?version=v2")
    assert '<option value="company"' in form.text
    assert '<label for="token-name">Name</label>' in form.text
    assert '<label for="token-kind">Kind</label>' in form.text
    assert '<label for="token-expires_in_days">Expires in (days)</label>' in form.text
    assert ">Create token</button>" in form.text


async def test_non_admin_sees_and_manages_only_their_own_tokens(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    world = passwords
    await log_in(client, world.a.editor.email)
    page = await client.get("/setup/api")
    assert page.status_code == 200
    assert delete_buttons(page.text) == ["mine"]
    assert f'action="/setup/api/tokens/{world.a.editor.personal_id}/delete"' in page.text
    assert world.a.admin.email not in page.text.replace(world.a.editor.email, "")
    v3 = await client.get("/setup/api?version=v3")
    assert delete_buttons(v3.text) == ["mine v3"]

    form = await client.get("/setup/api/tokens/new")
    assert '<option value="company"' not in form.text
    assert '<option value="personal"' in form.text

    # posting kind=company anyway: refused, nothing created
    before = await count_tokens(session, kind="company")
    refused = await create(client, "sneaky", kind="company")
    assert refused.status_code == 403
    assert "Only administrators can create company tokens." in refused.text
    assert 'value="sneaky"' in refused.text  # the input is kept
    assert await count_tokens(session, kind="company") == before
    assert await count_tokens(session, name="sneaky") == 0

    # another user's token, the company token: not theirs to delete
    for other in (world.a.admin.personal_id, world.a.company_id, world.b.editor.personal_id):
        response = await delete(client, other)
        assert response.status_code == 404, other
        assert 'role="alert"' in response.text
    assert await count_tokens(session, id=world.a.company_id) == 1
    assert await count_tokens(session, id=world.a.admin.personal_id) == 1

    # their own personal token is theirs to create and delete
    created = await create(client, "editor script")
    assert created.status_code == 201
    token = await live_token(session, "editor script")
    assert token.kind == "personal"
    response = await delete(client, token.id)
    assert response.status_code == 303


async def test_viewer_sees_only_their_token(client: httpx.AsyncClient, passwords: World) -> None:
    await log_in(client, passwords.a.viewer.email)
    page = await client.get("/setup/api")
    assert delete_buttons(page.text) == ["mine"]
    assert f"/setup/api/tokens/{passwords.a.viewer.personal_id}/delete" in page.text


async def test_admin_cannot_reach_another_workspace(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    await log_in(client, passwords.a.admin.email)
    response = await delete(client, passwords.b.admin.personal_id)
    assert response.status_code == 404
    assert await count_tokens(session, id=passwords.b.admin.personal_id) == 1


# -- create and delete -----------------------------------------------------------------------


async def test_create_shows_the_token_once_and_it_works_until_deleted(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    await log_in(client, passwords.a.admin.email)
    created = await create(client, "CI deploys", kind="company", expires_in_days="30")
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    secret = plaintext(created)
    assert secret.startswith("rd_")
    assert 'data-copy="#new-token"' in created.text
    assert ">Copy</button>" in created.text
    assert "shown only once" in created.text
    assert "CI deploys" in delete_buttons(created.text)  # the list is below it
    assert "relaydesk_flash" not in created.headers.get("set-cookie", "")
    assert secret not in created.headers.get("set-cookie", "")

    token = await live_token(session, "CI deploys")
    assert token.kind == "company"
    assert token.api_version == "v2"
    assert token.expires_on is not None

    # the list afterwards: the prefix, never the plaintext
    page = await client.get("/setup/api")
    assert secret not in page.text
    assert 'data-testid="new-token"' not in page.text
    assert f"<code>{token.prefix}</code>" in page.text

    # the token works against the API
    api = await client.get(WORKSPACE, headers=auth(secret))
    assert api.status_code == 200, api.text

    # delete it through the page
    deleted = await delete(client, token.id)
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/setup/api?version=v2"
    after = await client.get(deleted.headers["location"])
    assert "Token CI deploys deleted." in after.text
    assert "CI deploys" not in delete_buttons(after.text)
    again = await client.get("/setup/api")
    assert "Token CI deploys deleted." not in again.text  # a one-time message

    api = await client.get(WORKSPACE, headers=auth(secret))
    assert api.status_code == 403


async def test_v3_key_from_the_experimental_tab(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    await log_in(client, passwords.a.admin.email)
    page = await client.get("/setup/api?version=v3")
    assert '<button type="submit" class="btn orange">Create New API Key</button>' in page.text
    assert '<a href="/setup/api?version=v3" aria-current="page">Experimental (v3)</a>' in page.text
    assert sorted(delete_buttons(page.text)) == ["co v3", "mine v3", "mine v3", "mine v3"]
    form = await client.get("/setup/api/tokens/new?version=v3")
    assert '<input type="hidden" name="version" value="v3">' in form.text
    assert ">Create key</button>" in form.text

    created = await create(client, "experiments", version="v3")
    assert created.status_code == 201
    secret = plaintext(created)
    token = await live_token(session, "experiments")
    assert token.api_version == "v3"
    assert token.kind == "personal"
    assert "experiments" in delete_buttons(created.text)  # shown in the v3 list
    usage = await client.get("/api/v3/usage", headers={"Authorization": f"Bearer {secret}"})
    assert usage.status_code == 200, usage.text


async def test_invalid_input_re_renders_the_form(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    await log_in(client, passwords.a.admin.email)
    before = await count_tokens(session)
    cases = [
        ({"name": "   "}, "Enter a name."),
        ({"name": "x" * 65}, "At most 64 characters."),
        ({"name": "ok", "expires_in_days": "soon"}, "Enter a whole number of days"),
        ({"name": "ok", "expires_in_days": "0"}, "Enter a whole number of days"),
        ({"name": "ok", "expires_in_days": "4000"}, "Enter a whole number of days"),
        ({"name": "ok", "kind": "root"}, "Choose personal or company."),
        ({"name": "bad\x00name"}, "invalid character"),
    ]
    for fields, message in cases:
        name = fields.pop("name")
        response = await create(client, name, **fields)
        assert response.status_code == 400, (name, fields)
        assert message in response.text
        assert 'aria-invalid="true"' in response.text
        assert 'role="alert"' in response.text
    kept = await create(client, "keep me", expires_in_days="soon")
    assert 'value="keep me"' in kept.text
    assert 'value="soon"' in kept.text
    assert await count_tokens(session) == before


async def test_posts_need_the_csrf_token(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    await log_in(client, passwords.a.admin.email)
    await client.get("/setup/api")  # the CSRF cookie is set
    before = await count_tokens(session)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged.value"}):
        response = await client.post("/setup/api/tokens", data={"name": "cross-site", **data})
        assert response.status_code == 403, data
        assert "CSRF" in response.text
        response = await client.post(
            f"/setup/api/tokens/{passwords.a.company_id}/delete", data=data
        )
        assert response.status_code == 403
    # not a form at all
    response = await client.post("/setup/api/tokens", json={"name": "json"})
    assert response.status_code == 403
    assert await count_tokens(session) == before
    api = await client.get(WORKSPACE, headers=auth(passwords.a.company))
    assert api.status_code == 200


async def test_posts_need_a_login(client: httpx.AsyncClient, passwords: World) -> None:
    token = await csrf_token(client)
    response = await client.post("/setup/api/tokens", data={"csrf_token": token, "name": "x"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# -- version switch and usage ----------------------------------------------------------------


async def test_the_version_choice_is_remembered(
    client: httpx.AsyncClient, passwords: World
) -> None:
    await log_in(client, passwords.a.admin.email)
    first = await client.get("/setup/api")
    assert 'aria-current="page">Standard (v2)' in first.text
    chosen = await client.get("/setup/api?version=v3")
    cookie = next(
        h for h in chosen.headers.get_list("set-cookie") if h.startswith(f"{VERSION_COOKIE}=")
    )
    assert cookie.startswith(f"{VERSION_COOKIE}=v3;")
    assert "samesite=lax" in cookie.lower()
    later = await client.get("/setup/api")
    assert 'aria-current="page">Experimental (v3)' in later.text
    assert "Create New API Key" in later.text
    form = await client.get("/setup/api/tokens/new")  # the form follows too
    assert ">Create key</button>" in form.text
    back = await client.get("/setup/api?version=v2")
    assert 'aria-current="page">Standard (v2)' in back.text
    odd = await client.get("/setup/api?version=v9")  # unknown: the remembered one
    assert 'aria-current="page">Standard (v2)' in odd.text


async def test_usage_counts_and_chart(
    client: httpx.AsyncClient, passwords: World, app: RelaydeskApp
) -> None:
    await log_in(client, passwords.a.admin.email)
    for _ in range(3):
        assert (await client.get(WORKSPACE, headers=auth(passwords.a.company))).status_code == 200
    await client.get(WORKSPACE, headers=auth(passwords.b.company))  # another workspace
    page = await client.get("/setup/api")
    text = page.text
    assert '<h2 id="usage-heading">Usage</h2>' in text
    assert 'data-testid="usage-minute"><strong>3</strong> of ' in text
    assert 'data-testid="usage-day"><strong>3</strong> of ' in text
    assert '<label for="usage-minute">Requests this minute</label>' in text
    assert re.search(
        r'<svg role="img" aria-label="Requests per hour in the last 24 hours: '
        r'3 in total, at most 3 in one hour\."',
        text,
    )
    assert text.count("<rect ") == 24
    assert '<div class="sr-only">' in text  # the hourly counts, for screen readers
    assert "<td>3</td>" in text
    # the company token's own count, in its row
    assert re.search(r'data-label="Requests today">3<', text)

    # rate limits off: said so, no counts
    settings, limiter = app.state.settings, app.state.limiter
    off = settings.model_copy(update={"rate_limits": "off"})
    app.state.settings, app.state.limiter = off, NullLimiter(off)
    try:
        page = await client.get("/setup/api")
    finally:
        app.state.settings, app.state.limiter = settings, limiter
    assert "Rate limits are off on this server" in page.text
    assert 'data-testid="usage-minute"' not in page.text
    assert "Requests today" not in page.text  # nothing is counted


async def test_expiry_is_shown(
    client: httpx.AsyncClient, passwords: World, session: AsyncSession
) -> None:
    past = utcnow() - timedelta(days=1)
    await session.execute(
        update(ApiToken).where(ApiToken.id == passwords.a.company_id).values(expires_on=past)
    )
    await session.commit()
    await log_in(client, passwords.a.admin.email)
    page = await client.get("/setup/api")
    expected = past.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{expected}">' in page.text
    assert '<span class="badge disabled">expired</span>' in page.text
    # (no assertion on "Last used": another test's requests may be recorded by then)
