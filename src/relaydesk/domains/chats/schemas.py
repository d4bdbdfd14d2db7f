"""Wire shapes of chats and their messages (RPC results, widget replies, webhook data)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_TEXT = 10_000  # characters in one message
MAX_MESSAGES = 1_000  # messages in one chat
MAX_TAGS = 20
MAX_TAG = 64

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG)]
Rating = Annotated[int, Field(ge=1, le=5)]


class Ref(BaseModel):
    uuid: str
    name: str | None


class UserRef(BaseModel):
    email: str
    name: str


class ChatOut(BaseModel):
    uuid: str
    property: Ref = Field(description="The property whose widget the chat came from.")
    visitor: str = Field(description="The visitor's UUID.")
    contact: Ref = Field(description="The visitor's contact.")
    department: Ref | None = Field(description="The department asked for, or null.")
    agent: UserRef | None = Field(description="The agent who answered (first reply), or null.")
    status: Literal["waiting", "active", "ended"]
    tags: list[str] = Field(description="Sorted.")
    rating: int | None = Field(description="The visitor's rating, 1-5, or null.")
    missed: bool = Field(description="Ended without any agent reply.")
    started_on: str
    first_response_on: str | None
    ended_on: str | None


class MessageOut(BaseModel):
    uuid: str
    sender: Literal["visitor", "agent", "system"]
    agent: UserRef | None = Field(description="The agent who wrote it (agent messages).")
    text: str
    created_on: str


# -- the widget's bodies -----------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(_Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    message: Text
    department: str | None = None


class MessageBody(_Body):
    text: Text


class EndBody(_Body):
    rating: Rating | None = None


class Started(BaseModel):
    chat: ChatOut
    visitor_token: str = Field(description="Send it as X-Visitor-Token on the chat's calls.")


class Messages(BaseModel):
    chat: ChatOut
    messages: list[MessageOut]
