"""Authentication: Authorization header → :class:`Principal`."""

from relaydesk.infra.auth.principal import Principal

__all__ = ["Principal"]
