"""Message labels on the wire (RapidPro's ``labels.json``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from relaydesk.infra.http import drf

MAX_NAME_LENGTH = 64


class LabelRead(BaseModel):
    """A message label."""

    uuid: str = Field(description="The UUID of the label, filterable as `uuid`.")
    name: str = Field(description="The name of the label, filterable as `name`.")
    count: int = Field(
        description="The number of messages with this label: always 0, as Relaydesk has no "
        "messages yet."
    )


class LabelWrite(BaseModel):
    """POST body."""

    name: Annotated[str | None, BeforeValidator(drf.char)] = Field(
        default=None,
        description=f"The label name (required; at most {MAX_NAME_LENGTH} characters, unique "
        "in the workspace ignoring case).",
    )
