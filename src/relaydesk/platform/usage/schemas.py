from __future__ import annotations

from pydantic import BaseModel, Field


class Counter(BaseModel):
    used: int
    limit: int
    remaining: int


class EndpointCounter(Counter):
    group: str = Field(description="Endpoint group: v2, v2.contacts, v2.messages, v2.runs, v3, rpc")


class TokenUsage(BaseModel):
    id: int
    prefix: str
    name: str
    kind: str
    minute: int = Field(description="Requests in the current UTC minute.")
    day: int = Field(description="Requests today (UTC).")


class HourUsage(BaseModel):
    hour: str = Field(description="Start of the UTC hour.")
    requests: int


class UsageOut(BaseModel):
    workspace: str = Field(description="Workspace UUID.")
    plan: str
    rate_limits: str = Field(description="on, or off when the deployment disables limiting.")
    minute: Counter = Field(description="Sliding last 60 seconds, whole workspace.")
    day: Counter = Field(description="Today (UTC day), whole workspace.")
    endpoints: list[EndpointCounter] = Field(description="Sliding last hour per endpoint group.")
    tokens: list[TokenUsage] = Field(description="Per token (scoped like token listings).")
    hourly: list[HourUsage] = Field(description="The last 24 UTC hours, oldest first.")
