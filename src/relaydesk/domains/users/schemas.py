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


class TeamRef(BaseModel):
    uuid: str
    name: str


class MemberRead(BaseModel):
    """A user of the workspace (RapidPro's ``users.json``)."""

    uuid: str = Field(description="The UUID of the user, filterable as `uuid`.")
    name: str = Field(description="The full name of the user (first and last name).")
    email: str = Field(description="The email address of the user, filterable as `email`.")
    first_name: str = Field(description="The first name of the user.")
    last_name: str = Field(description="The last name of the user.")
    role: Role = Field(
        description="The role in the workspace (administrator, editor, agent or viewer), "
        "filterable as `role`."
    )
    team: TeamRef | None = Field(description="The user's ticket team: always null (no teams).")
    created_on: str = Field(description="When the user was created.")
    avatar: str | None = Field(description="The URL of the user's avatar: always null.")
