"""Fixtures: every database test runs on SQLite and on PostgreSQL (``backend`` parameter).

``world`` gives two workspaces (A and B), each with an administrator, an editor and a viewer,
and company / personal tokens, so each test can also prove that A never sees B.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.app import RelaydeskApp, create_app
from relaydesk.config import Settings
from relaydesk.db.base import Base
from relaydesk.db.migrate import upgrade
from relaydesk.domains.users import service as users
from relaydesk.domains.users.schemas import UserCreate
from relaydesk.domains.workspace import service as workspaces
from relaydesk.domains.workspace.schemas import WorkspaceCreate
from relaydesk.infra.ratelimit.memory import MemoryLimiter
from relaydesk.models import Role
from relaydesk.platform.tokens import service as tokens
from relaydesk.platform.tokens.schemas import TokenCreate
from tests.services import throwaway_pg_database

BACKENDS = ["sqlite", "postgresql"]


def _migrate(url: str) -> None:
    # Alembic's env runs its own event loop: keep it off pytest's loop.
    thread = threading.Thread(target=upgrade, args=(url,))
    thread.start()
    thread.join()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "relaydesk.db"
        url = f"sqlite+aiosqlite:///{path}"
        _migrate(url)
        yield url
    else:
        with throwaway_pg_database() as url:
            _migrate(url)
            yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        base_url="http://testserver",
        log_level="warning",
        worker="off",  # delivery tests run their own dispatcher (tests/webhooks)
        webhook_allow_private=True,  # sinks are on loopback; SSRF tests turn it off
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[RelaydeskApp]:
    application = create_app(settings)
    async with application.fastapi.router.lifespan_context(application.fastapi):
        yield application


@pytest.fixture
async def clean(app: RelaydeskApp) -> AsyncIterator[None]:
    yield
    async with app.state.sessionmaker() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "cache_epochs":
                await session.execute(delete(table))
        await session.commit()
    app.state.authenticator.cache.clear()
    app.state.workspace_cache.clear()
    app.state.field_types_cache.clear()
    app.state.limiter = MemoryLimiter(app.state.settings)  # ids are reused after deletes


@pytest.fixture
async def session(app: RelaydeskApp, clean: None) -> AsyncIterator[AsyncSession]:
    async with app.state.sessionmaker() as s:
        yield s


@pytest.fixture
async def client(app: RelaydeskApp, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Account:
    email: str
    role: Role
    personal: str  # v2 personal token
    personal_v3: str
    personal_id: int


@dataclass
class Tenant:
    uuid: str
    name: str
    id: int
    admin: Account
    editor: Account
    viewer: Account
    company: str  # v2 company token (administrator)
    company_v3: str
    company_id: int


@dataclass
class World:
    a: Tenant
    b: Tenant


async def _token(session: AsyncSession, member: Any, **kw: Any) -> Any:
    return await tokens.create(session, member.user, member.membership, TokenCreate(**kw))


async def make_tenant(session: AsyncSession, name: str) -> Tenant:
    ws = await workspaces.create(
        session, WorkspaceCreate(name=name, country="RW", languages=["eng", "fra"])
    )
    accounts = {}
    members = {}
    for role in (Role.ADMINISTRATOR, Role.EDITOR, Role.VIEWER):
        email = f"{role.value}@{name.lower().replace(' ', '-')}.example.com"
        member = await users.create(session, ws, UserCreate(email=email, role=role))
        members[role] = member
        personal = await _token(session, member, name="mine")
        personal_v3 = await _token(session, member, name="mine v3", api_version="v3")
        accounts[role] = Account(
            email, role, personal.plaintext, personal_v3.plaintext, personal.token.id
        )
    company = await _token(session, members[Role.ADMINISTRATOR], name="co", kind="company")
    company_v3 = await _token(
        session, members[Role.ADMINISTRATOR], name="co v3", kind="company", api_version="v3"
    )
    return Tenant(
        uuid=ws.uuid,
        name=ws.name,
        id=ws.id,
        admin=accounts[Role.ADMINISTRATOR],
        editor=accounts[Role.EDITOR],
        viewer=accounts[Role.VIEWER],
        company=company.plaintext,
        company_v3=company_v3.plaintext,
        company_id=company.token.id,
    )


@pytest.fixture
async def world(session: AsyncSession) -> World:
    a = await make_tenant(session, "Alpha Org")
    b = await make_tenant(session, "Beta Org")
    await session.commit()
    return World(a, b)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
