"""Pydantic models of properties, their departments, members and invitations (RPC arguments
forbid unknown fields: a typo is ``invalid_args``, not a silently ignored argument)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from pydantic_core import PydanticCustomError

from relaydesk.kit.validation import no_nul

MAX_NAME = 64
MAX_WEBSITE = 255
MAX_DEPARTMENTS = 50
MAX_WIDGET_BYTES = 16 * 1024

RoleName = Literal["owner", "admin", "agent"]


def _departments(value: list[str]) -> list[str]:
    """Names, unique ignoring case (the first spelling is kept), order kept."""
    seen: dict[str, str] = {}
    for name in value:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def _widget(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object of at most 16 KB serialized, normalised as it will be stored."""
    try:
        raw = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise PydanticCustomError("invalid_json", "Must be a JSON object.") from None
    if len(raw) > MAX_WIDGET_BYTES:
        raise PydanticCustomError(
            "too_large",
            "Ensure this object is at most {limit} bytes as JSON.",
            {"limit": MAX_WIDGET_BYTES},
        )
    normalised: dict[str, Any] = orjson.loads(raw)
    return normalised


def _name(value: str) -> str:
    if not value:
        raise PydanticCustomError("blank", "This field may not be blank.")
    return no_nul(value)


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME), AfterValidator(_name)
]
Website = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_WEBSITE), AfterValidator(no_nul)
]
Widget = Annotated[dict[str, Any], AfterValidator(_widget)]
Departments = Annotated[list[Name], Field(max_length=MAX_DEPARTMENTS), AfterValidator(_departments)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PropertyCreate(_Args):
    name: Name = Field(description="The property's name (a website or app), 1 to 64 characters.")
    website: Website | None = Field(default=None, description="Its website or domain.")
    departments: Departments = Field(
        default_factory=list, description='Department names, e.g. ["Sales", "Support"].'
    )
    widget: Widget | None = Field(
        default=None,
        description="The chat widget's settings (a JSON object of your own, at most 16 KB).",
    )


class PropertyUpdate(_Args):
    """Only the arguments given change; ``departments`` replaces the list (a department kept
    by name keeps its uuid and its members)."""

    uuid: str = Field(description="The property's uuid.")
    name: Name | None = None
    website: Website | None = Field(default=None, description='"" clears it.')
    departments: Departments | None = None
    widget: Widget | None = Field(default=None, description="Replaces the widget settings.")


class DepartmentOut(BaseModel):
    uuid: str
    name: str


class PropertyOut(BaseModel):
    uuid: str
    name: str
    website: str | None
    widget: dict[str, Any]
    departments: list[DepartmentOut] = Field(description="In order of name.")
    member_count: int
    created_on: str
    modified_on: str


class MemberOut(BaseModel):
    uuid: str = Field(description="The user's uuid.")
    email: str
    role: RoleName
    departments: list[str] = Field(description="Department names.")
    created_on: str = Field(description="When they joined the property.")


class InvitationOut(BaseModel):
    uuid: str
    email: str
    role: RoleName
    departments: list[str]
    invited_by: str | None = Field(description="The inviter's email.")
    created_on: str
    expires_on: str
    accepted_on: str | None


class InviteArgs(_Args):
    property: str = Field(description="The property's uuid.")
    email: EmailStr = Field(description="Who to invite; the accept link is emailed there.")
    role: RoleName = Field(default="agent", description="owner, admin or agent.")
    departments: Departments = Field(
        default_factory=list, description="Names of the property's departments."
    )
