from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

PlanName = Literal["standard", "pro", "enterprise"]


class Credits(BaseModel):
    used: int = Field(description="Always -1: Relaydesk has no credits (kept for compatibility).")
    remaining: int = Field(description="Always -1: Relaydesk has no credits.")


class WorkspaceOut(BaseModel):
    """The workspace of the token (RapidPro's ``workspace.json`` / ``org.json``)."""

    uuid: str = Field(description="The UUID of the workspace.")
    name: str = Field(description="The name of the workspace.")
    country: str | None = Field(description="The ISO 3166-1 alpha-2 country code, or null.")
    languages: list[str] = Field(description="ISO 639-3 codes of the workspace's languages.")
    primary_language: str | None = Field(description="The ISO 639-3 code of the main language.")
    timezone: str = Field(description="The IANA time zone, e.g. Africa/Kigali.")
    date_style: str = Field(description="day_first, month_first or year_first.")
    credits: Credits = Field(description="Legacy credit counters (always -1).")
    anon: bool = Field(description="Whether contact URNs are anonymised.")


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    plan: PlanName = "standard"
    country: str | None = None
    languages: list[str] = Field(default_factory=list, max_length=100)
    primary_language: str | None = None
    timezone: str = "UTC"
    date_style: Literal["day_first", "month_first", "year_first"] = "day_first"


class WorkspaceUpdate(BaseModel):
    """Only the fields given are changed. A limit of ``None`` returns to the plan's default."""

    plan: PlanName | None = None
    limit_minute: int | None = Field(default=None, ge=1)
    limit_day: int | None = Field(default=None, ge=1)
    limit_endpoint_hour: int | None = Field(default=None, ge=1)


class EffectiveLimits(BaseModel):
    minute: int
    day: int
    endpoint_hour: int | None = Field(description="null: the per-group default (2,500/hour)")


class WorkspaceAdminOut(BaseModel):
    """What the operator CLI prints: the wire object plus plan and creation time."""

    uuid: str
    name: str
    country: str | None
    languages: list[str]
    primary_language: str | None
    timezone: str
    date_style: str
    plan: str
    limit_minute: int | None = Field(description="Override of the plan's per-minute limit")
    limit_day: int | None
    limit_endpoint_hour: int | None
    limits: EffectiveLimits
    created_on: str
