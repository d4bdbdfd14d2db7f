"""Workspaces: create (operator), read (any token of the workspace)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.config import Settings
from relaydesk.domains.tickets import topics
from relaydesk.domains.workspace import repository
from relaydesk.domains.workspace.schemas import (
    EffectiveLimits,
    WorkspaceAdminOut,
    WorkspaceCreate,
    WorkspaceUpdate,
)
from relaydesk.exceptions import InvalidArgs, NotFound
from relaydesk.infra import changes
from relaydesk.infra.auth.principal import Principal
from relaydesk.infra.cache import EpochCache
from relaydesk.infra.ratelimit import resolve_limits
from relaydesk.kit.time import format_datetime
from relaydesk.kit.validation import is_country, is_language, is_timezone
from relaydesk.models import Workspace

WorkspaceCache = EpochCache[int, dict[str, Any]]


def _validate(data: WorkspaceCreate) -> None:
    errors: dict[str, list[str]] = {}
    if data.country is not None and not is_country(data.country):
        errors["country"] = [f"{data.country!r} is not an ISO 3166-1 alpha-2 country code."]
    bad = [code for code in data.languages if not is_language(code)]
    if bad:
        errors["languages"] = [f"Not ISO 639-3 language codes: {', '.join(bad)}."]
    if data.primary_language is not None:
        if not is_language(data.primary_language):
            errors["primary_language"] = [f"{data.primary_language!r} is not an ISO 639-3 code."]
        elif data.languages and data.primary_language not in data.languages:
            errors["primary_language"] = ["The primary language must be one of the languages."]
    if not is_timezone(data.timezone):
        errors["timezone"] = [f"{data.timezone!r} is not a known time zone."]
    if errors:
        raise InvalidArgs("Invalid workspace.", errors=errors)


async def create(session: AsyncSession, data: WorkspaceCreate) -> Workspace:
    _validate(data)
    languages = list(dict.fromkeys(data.languages))
    primary = data.primary_language or (languages[0] if languages else None)
    if primary and primary not in languages:
        languages.insert(0, primary)
    workspace = Workspace(
        name=data.name.strip(),
        plan=data.plan,
        country=data.country.upper() if data.country else None,
        languages=languages,
        primary_language=primary,
        timezone=data.timezone,
        date_style=data.date_style,
    )
    repository.add(session, workspace)
    await session.flush()
    await topics.create_system_topic(session, workspace.id)  # "General", as in RapidPro
    return workspace


async def get_by_uuid(session: AsyncSession, uuid: str) -> Workspace:
    workspace = await repository.get_by_uuid(session, uuid)
    if workspace is None:
        raise NotFound(f"No workspace with UUID {uuid}.")
    return workspace


async def list_all(session: AsyncSession) -> list[Workspace]:
    return await repository.list_all(session)


async def count(session: AsyncSession) -> int:
    return await repository.count(session)


def to_wire(workspace: Workspace) -> dict[str, Any]:
    """RapidPro's workspace.json shape."""
    return {
        "uuid": workspace.uuid,
        "name": workspace.name,
        "country": workspace.country,
        "languages": list(workspace.languages or []),
        "primary_language": workspace.primary_language,
        "timezone": workspace.timezone,
        "date_style": workspace.date_style,
        "credits": {"used": -1, "remaining": -1},
        "anon": workspace.anon,
    }


async def update(session: AsyncSession, workspace: Workspace, data: WorkspaceUpdate) -> Workspace:
    """Change plan and/or limit overrides; takes effect on the next request everywhere."""
    for name in data.model_fields_set:
        value = getattr(data, name)
        if name == "plan" and value is None:
            continue
        setattr(workspace, name, value)
    await changes.bump(session)  # principals carry the limits: drop cached ones
    return workspace


def to_admin(workspace: Workspace, settings: Settings) -> WorkspaceAdminOut:
    limits = resolve_limits(
        settings,
        workspace.plan,
        workspace.limit_minute,
        workspace.limit_day,
        workspace.limit_endpoint_hour,
    )
    return WorkspaceAdminOut(
        uuid=workspace.uuid,
        name=workspace.name,
        country=workspace.country,
        languages=list(workspace.languages or []),
        primary_language=workspace.primary_language,
        timezone=workspace.timezone,
        date_style=workspace.date_style,
        plan=workspace.plan,
        limit_minute=workspace.limit_minute,
        limit_day=workspace.limit_day,
        limit_endpoint_hour=workspace.limit_endpoint_hour,
        limits=EffectiveLimits(
            minute=limits.minute, day=limits.day, endpoint_hour=limits.endpoint_hour
        ),
        created_on=format_datetime(workspace.created_on) or "",
    )


def cached_for(principal: Principal, cache: WorkspaceCache) -> dict[str, Any] | None:
    """The principal's workspace in wire form if cached (see :func:`read_for`)."""
    return cache.get(principal.workspace_id)


async def read_for(
    session: AsyncSession, principal: Principal, cache: WorkspaceCache
) -> dict[str, Any]:
    """The principal's workspace in wire form; cached until any workspace/auth change."""
    cached = cache.get(principal.workspace_id)
    if cached is not None:
        return cached
    version = cache.version()
    workspace = await repository.get_by_id(session, principal.workspace_id)
    if workspace is None:  # deleted between authentication and now
        raise NotFound("Workspace not found.")
    wire = to_wire(workspace)
    cache.put(principal.workspace_id, wire, version)
    return wire
