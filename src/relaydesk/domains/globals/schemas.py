"""Globals on the wire (RapidPro's ``globals.json``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from relaydesk.infra.http import drf

MAX_NAME_LENGTH = 36
MAX_KEY_LENGTH = 36
MAX_VALUE_LENGTH = 10_000  # RapidPro's GLOBAL_VALUE_SIZE


class GlobalRead(BaseModel):
    """A workspace global, used in flows and messages as ``@globals.<key>``."""

    key: str = Field(description="The key of the global, filterable as `key`.")
    name: str = Field(description="The name of the global.")
    value: str = Field(description="The value of the global.")
    modified_on: str = Field(
        description="When the global was last changed, filterable as `before` and `after`."
    )


class GlobalWrite(BaseModel):
    """POST body."""

    value: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None, description=f"The value (required; at most {MAX_VALUE_LENGTH:,} characters)."
    )
    name: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None,
        description=f"The name (required to create; at most {MAX_NAME_LENGTH} characters: "
        "letters, digits, spaces and hyphens). Ignored on update.",
    )
