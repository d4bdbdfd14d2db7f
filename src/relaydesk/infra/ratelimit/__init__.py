"""Rate limiting: one limiter for every authenticated request (REST v2, v3, RPC).

Windows checked together, atomically, for each request:

* ``minute``: per workspace, sliding 60 s window (an exact log of admitted requests);
* ``day``: per workspace, the UTC calendar day;
* ``endpoint``: per workspace and endpoint group (``v2``, ``v2.contacts``, ``v2.messages``,
  ``v2.runs``, ``v3``, ``rpc``), sliding 3,600 s window.

A rejected request records nothing, so waiting ``Retry-After`` seconds always works.
Backends: :mod:`.memory` (one process) and :mod:`.redis` (one Lua script per check).
"""

from relaydesk.infra.ratelimit.core import (
    Decision,
    Limiter,
    Limits,
    PolicyState,
    Usage,
    resolve_limits,
)

__all__ = ["Decision", "Limiter", "Limits", "PolicyState", "Usage", "resolve_limits"]
