"""Contact fields on the wire (RapidPro's ``fields.json``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from relaydesk.infra.http import drf
from relaydesk.models import FieldType

MAX_NAME_LENGTH = 36
MAX_KEY_LENGTH = 36

FieldTypeName = Literal["text", "number", "datetime", "state", "district", "ward"]
LegacyValueType = Literal["text", "numeric", "datetime", "state", "district", "ward"]

# ``value_type`` keeps RapidPro's legacy names (``numeric`` for ``number``)
VALUE_TYPES: dict[str, str] = {t.value: t.value for t in FieldType} | {
    FieldType.NUMBER.value: "numeric"
}
TYPE_OF_VALUE_TYPE: dict[str, str] = {legacy: kind for kind, legacy in VALUE_TYPES.items()}


class FieldUsages(BaseModel):
    flows: int = Field(description="Active flows using the field (always 0: no flows yet).")
    groups: int = Field(description="Smart groups whose query uses the field (always 0 for now).")
    campaign_events: int = Field(
        description="Campaign events relative to the field (always 0: no campaigns yet)."
    )


class FieldRead(BaseModel):
    """A custom contact field, part of the workspace's contact schema."""

    key: str = Field(description="The unique key of the field, filterable as `key`.")
    name: str = Field(description="The display name of the field.")
    type: FieldTypeName = Field(
        description="The data type: text, number, datetime, state, district or ward."
    )
    featured: bool = Field(description="Whether the field is shown in the contact list.")
    priority: int = Field(description="The display order of featured fields.")
    usages: FieldUsages = Field(description="What uses the field.")
    agent_access: Literal["none", "view", "edit"] = Field(
        description="What agents may do with the field (always view)."
    )
    label: str = Field(description="Deprecated: the same as `name`.")
    value_type: LegacyValueType = Field(
        description="Deprecated: the data type with RapidPro's legacy names "
        "(text, numeric, datetime, state, district, ward)."
    )


class FieldWrite(BaseModel):
    """POST body: ``name`` and ``type`` (or the legacy ``label`` and ``value_type``)."""

    name: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None, description=f"The display name (at most {MAX_NAME_LENGTH} characters)."
    )
    type: Annotated[str | None, BeforeValidator(drf.choice(VALUE_TYPES))] = Field(
        default=None, description="text, number, datetime, state, district or ward."
    )
    label: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None, description="Deprecated: the name."
    )
    value_type: Annotated[str | None, BeforeValidator(drf.choice(TYPE_OF_VALUE_TYPE))] = Field(
        default=None, description="Deprecated: the type, with legacy names (numeric, …)."
    )
