from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from relaydesk.kit.validation import no_nul


class TokenCreate(BaseModel):
    name: Annotated[str, AfterValidator(no_nul)] = Field(
        default="API token", min_length=1, max_length=64
    )
    kind: Literal["personal", "company"] = "personal"
    api_version: Literal["v2", "v3"] = "v2"
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenUser(BaseModel):
    uuid: str
    email: str


class TokenOut(BaseModel):
    id: int = Field(description="Numeric id (use it to delete the token).")
    name: str
    kind: Literal["personal", "company"]
    api_version: Literal["v2", "v3"]
    prefix: str = Field(description="The first characters of the token, for recognising it.")
    user: TokenUser = Field(description="Who created the token (a personal token acts as them).")
    created_on: str
    last_used_on: str | None = Field(description="Updated at most once a minute.")
    expires_on: str | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself. Shown only this once: store it safely.")
