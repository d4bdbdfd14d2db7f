"""Groups on the wire (RapidPro's ``ContactGroupReadSerializer`` / ``…WriteSerializer``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from relaydesk.infra.http import drf

MAX_NAME_LENGTH = 64
MAX_QUERY_LENGTH = 4_096

WireStatus = Literal["initializing", "evaluating", "ready", "invalid"]


class GroupRead(BaseModel):
    """A contact group: manual (``query`` null) or smart (defined by a contact query)."""

    uuid: str = Field(description="The UUID of the group, filterable as `uuid`.")
    name: str = Field(description="The name of the group, filterable as `name`.")
    query: str | None = Field(description="The contact query of a smart group, else null.")
    status: WireStatus = Field(
        description="`initializing`, `evaluating`, `ready`, or `invalid` (its query no longer "
        "validates, e.g. a field it uses was deleted)."
    )
    system: bool = Field(description="Whether this is a system group that can't be edited.")
    count: int = Field(description="The number of contacts in the group.")


def _optional_char(value: Any) -> Any:
    """``CharField(required=False, allow_null=True)``: null means not given."""
    return None if value is None else drf.char(value)


class GroupWrite(BaseModel):
    """POST body: create a group, or (``?uuid=``) rename it. Unknown fields are ignored.

    Parsed with DRF's rules (:mod:`relaydesk.infra.http.drf`); the service adds the name and
    query checks and reports every failing field at once, as RapidPro does."""

    name: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None,
        description=f"The group name (required; at most {MAX_NAME_LENGTH} characters, unique "
        'in the workspace ignoring case, without " or \\).',
    )
    query: Annotated[str | None, BeforeValidator(_optional_char)] = Field(
        default=None,
        description="Relaydesk extension: a contact query makes the new group a smart group "
        "(see docs/api-v2-groups.md). On update, only a smart group's query can be changed.",
    )
