from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

from relaydesk.models import Role


class UserCreate(BaseModel):
    email: EmailStr
    role: Role = Role.VIEWER
    password: str | None = Field(default=None, min_length=8, max_length=256)
    first_name: str = Field(default="", max_length=64)
    last_name: str = Field(default="", max_length=64)


class UserOut(BaseModel):
    uuid: str
    email: str
    first_name: str
    last_name: str
    role: str
    workspace: str
    created_on: str
