"""The RPC door's methods: every domain's ``rpc.py``, in one registry (``POST /api/rpc/<method>``,
docs/rpc.md). A domain with RPC methods adds its ``methods`` here."""

from __future__ import annotations

from relaydesk.domains.users import rpc as users_rpc
from relaydesk.infra.http.rpc import Registry
from relaydesk.platform.webhooks import rpc as webhooks_rpc

registry = Registry(
    users_rpc.methods,
    webhooks_rpc.methods,
)
router = registry.router()
