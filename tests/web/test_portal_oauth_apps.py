"""Setup > OAuth apps in the portal: create (secret shown once), list, delete, validation
errors kept on the form, administrators only, workspace isolation, CSRF. Every test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp
from relaydesk.infra.auth import scopes
from relaydesk.models.oauth import OAuthClient
from relaydesk.platform.oauth import service
from tests.conftest import World
from tests.web.test_portal_webhooks import log_in, set_password, token_of

APPS = "/setup/oauth-apps"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SECRET = re.compile(r'<code id="client-secret" data-testid="client-secret">(rdcs_[^<]+)</code>')
CLIENT_ID = re.compile(r'<code id="client-id" data-testid="client-id">(rdc_[0-9a-f]+)</code>')


@pytest.fixture
async def admin(client: httpx.AsyncClient, world: World, session: AsyncSession) -> World:
    await set_password(session, world.a.admin.email, world.a.editor.email, world.b.admin.email)
    await log_in(client, world.a.admin.email)
    return world


async def post(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], *, token: bool = True
) -> httpx.Response:
    data = dict(fields)
    if token:
        data["csrf_token"] = await token_of(client, "/login")
    return await client.post(path, content=urlencode(data), headers=FORM)


def app_form(**extra: str) -> dict[str, str]:
    return {
        "name": "Zapier bridge",
        "redirect_uris": "https://zap.example.com/cb\r\nhttp://127.0.0.1:8080/cb",
        "client_type": "confidential",
        **extra,
    }


async def clients(session: AsyncSession) -> list[OAuthClient]:
    stmt = (
        select(OAuthClient)
        .where(OAuthClient.deleted_on.is_(None))
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def test_login_required(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(APPS)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    response = await post(client, APPS, app_form())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_create_list_delete(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    page = await client.get(APPS)
    assert page.status_code == 200
    for needle in (
        "<h1>OAuth apps</h1>",
        'aria-current="page">OAuth apps',
        "No OAuth apps yet.",
        ">Name</label>",
        ">Redirect URIs</label>",
        ">Confidential</label>",
        ">Public</label>",
        ">Allow the implicit grant</label>",
        ">Create app</button>",
        f"<code>{scopes.WEBHOOKS_MANAGE}</code>",
    ):
        assert needle in page.text, needle

    response = await post(client, APPS, app_form())
    assert response.status_code == 201, response.text
    secret = SECRET.search(response.text)
    client_id = CLIENT_ID.search(response.text)
    assert secret is not None
    assert client_id is not None
    assert 'data-copy="#client-secret"' in response.text
    for header in response.headers.get_list("set-cookie"):
        assert secret.group(1) not in header
    [stored] = await clients(session)
    assert stored.client_id == client_id.group(1)
    assert stored.name == "Zapier bridge"
    assert stored.redirect_uris == ["https://zap.example.com/cb", "http://127.0.0.1:8080/cb"]
    assert not stored.is_public
    assert not stored.allow_implicit
    assert service.check_secret(stored, secret.group(1))

    listing = await client.get(APPS)
    text = listing.text
    assert secret.group(1) not in text
    assert "rdcs_" not in text
    assert client_id.group(1) in text
    assert "https://zap.example.com/cb" in text
    assert "Confidential" in text
    assert 'class="responsive oauth-apps"' in text
    assert 'data-label="Client id"' in text
    assert 'aria-label="Delete app Zapier bridge"' in text
    assert "data-confirm=" in text

    # a public one with the implicit grant: no secret
    response = await post(
        client,
        APPS,
        app_form(name="SPA", redirect_uris="https://spa.example.com/", client_type="public")
        | {"allow_implicit": "1"},
    )
    assert response.status_code == 201
    assert SECRET.search(response.text) is None
    assert "must use PKCE" in response.text
    spa = next(c for c in await clients(session) if c.name == "SPA")
    assert spa.is_public
    assert spa.allow_implicit
    assert spa.secret_hash is None

    response = await post(client, f"{APPS}/{client_id.group(1)}/delete", {})
    assert response.status_code == 303
    assert response.headers["location"] == APPS
    page = await client.get(APPS)
    assert "OAuth app Zapier bridge deleted" in html.unescape(page.text)
    assert client_id.group(1) not in page.text
    assert [c.name for c in await clients(session)] == ["SPA"]
    response = await post(client, f"{APPS}/{client_id.group(1)}/delete", {})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Enter a name"),
        ({"redirect_uris": ""}, "Enter at least one redirect URI."),
        ({"redirect_uris": "https://ok.example.com/\nhttp://evil.example.com/cb"}, "Line 2"),
        ({"redirect_uris": "https://ok.example.com/cb#frag"}, "must not contain a fragment"),
        ({"redirect_uris": "\n".join(f"https://x.example.com/{i}" for i in range(11))}, "at most"),
    ],
)
async def test_errors_keep_the_input(
    client: httpx.AsyncClient,
    admin: World,
    session: AsyncSession,
    fields: dict[str, str],
    message: str,
) -> None:
    response = await post(client, APPS, app_form(client_type="public", **fields))
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert message in text
    assert "The app was not created" in text
    assert 'aria-invalid="true"' in response.text
    assert 'value="public" checked' in response.text
    if fields.get("name", "x"):
        assert 'value="Zapier bridge"' in response.text
    assert await clients(session) == []


async def test_only_administrators(
    client: httpx.AsyncClient, admin: World, session: AsyncSession
) -> None:
    created = await post(client, APPS, app_form())
    client_id = CLIENT_ID.search(created.text)
    assert client_id is not None
    client.cookies.clear()
    await log_in(client, admin.a.editor.email)
    page = await client.get(APPS)
    assert page.status_code == 403
    assert "Only administrators can manage OAuth apps." in page.text
    assert "Create app" not in page.text
    assert client_id.group(1) not in page.text
    assert (await post(client, APPS, app_form(name="Sneaky"))).status_code == 403
    response = await post(client, f"{APPS}/{client_id.group(1)}/delete", {})
    assert response.status_code == 403
    assert [c.name for c in await clients(session)] == ["Zapier bridge"]


async def test_workspaces_are_isolated(
    client: httpx.AsyncClient, admin: World, session: AsyncSession, app: RelaydeskApp
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as other:
        await log_in(other, admin.b.admin.email)
        created = await post(other, APPS, app_form(name="Beta app"))
        theirs = CLIENT_ID.search(created.text)
        assert theirs is not None
    page = await client.get(APPS)
    assert "Beta app" not in page.text
    response = await post(client, f"{APPS}/{theirs.group(1)}/delete", {})
    assert response.status_code == 404
    assert [c.name for c in await clients(session)] == ["Beta app"]


async def test_csrf(client: httpx.AsyncClient, admin: World, session: AsyncSession) -> None:
    created = await post(client, APPS, app_form())
    client_id = CLIENT_ID.search(created.text)
    assert client_id is not None
    for path, fields in (
        (APPS, app_form(name="Forged")),
        (f"{APPS}/{client_id.group(1)}/delete", {}),
    ):
        for extra in ({}, {"csrf_token": "forged.token"}):
            response = await post(client, path, fields | extra, token=False)
            assert response.status_code == 403, (path, extra)
            assert "CSRF" in response.text
    assert (await session.execute(select(func.count()).select_from(OAuthClient))).scalar_one() == 1
    assert [c.name for c in await clients(session)] == ["Zapier bridge"]
