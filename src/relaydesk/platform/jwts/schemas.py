from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class JwtCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(
        min_length=1,
        max_length=4096,
        description="A v3 API key (`rd_…`). v2 keys, deleted, expired or unknown keys get 401.",
    )


class JwtOut(BaseModel):
    token: str = Field(description="The JWT: send it as `Authorization: Bearer <token>`.")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the JWT expires (at most 900).")


class MeWorkspace(BaseModel):
    uuid: str
    plan: str


class MeUser(BaseModel):
    uuid: str
    email: str
    role: str


class MeToken(BaseModel):
    id: int | None = Field(description="The API key's id (a JWT names the key it came from).")
    kind: str = Field(description="personal or company.")
    api_version: str


class MeOut(BaseModel):
    workspace: MeWorkspace
    user: MeUser
    token: MeToken
    credential: str = Field(
        description='How the caller authenticated: "api_key", "jwt" (exchanged for an API '
        'key) or "oauth".'
    )
    scopes: list[str] = Field(description="The API scopes this credential has now.")


class ErrorOut(BaseModel):
    error: str
    detail: str


class SigningKeyOut(BaseModel):
    kid: str
    algorithm: str
    created_on: str
    retired_on: str | None = Field(
        description="When it stops (or stopped) signing: a rotation sets it, the activation "
        "delay ahead. None: it signs (or will, once the older key retires)."
    )
    verify_until: str | None = Field(description="It verifies JWTs until then (None: no end).")
    signing: bool = Field(description="Whether this key signs new JWTs now.")
