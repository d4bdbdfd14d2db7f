"""Domain errors with stable machine codes.

Every error a service raises is a :class:`RelaydeskError`. The HTTP doors render them:
REST v2 as ``{"detail": ...}`` (or field errors for validation), v3/RPC with the ``code``.
One table (``STATUS``) maps each code to its HTTP status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RelaydeskError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAuthenticated(RelaydeskError):
    """No credentials were supplied."""

    code = "not_authed"
    status = 401


class InvalidAuth(RelaydeskError):
    """Credentials were supplied but are wrong, revoked, expired or belong to a deleted user."""

    code = "invalid_auth"
    status = 401


class Forbidden(RelaydeskError):
    code = "forbidden"
    status = 403


class NotFound(RelaydeskError):
    code = "not_found"
    status = 404


class InvalidArgs(RelaydeskError):
    code = "invalid_args"
    status = 400

    def __init__(
        self, message: str, *, field: str | None = None, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.errors: dict[str, Any] = errors or {field or "non_field_errors": [message]}


class Conflict(RelaydeskError):
    code = "conflict"
    status = 409


class RateLimited(RelaydeskError):
    code = "ratelimited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Request was throttled. Expected available in {retry_after} seconds.")
        self.retry_after = retry_after


class LimiterUnavailable(RelaydeskError):
    """The shared limiter (Redis) is unreachable and the deployment fails closed."""

    code = "unavailable"
    status = 503
