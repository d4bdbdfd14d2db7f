"""The RPC door's methods: every domain's ``rpc.py``, in one registry (``POST /api/rpc/<method>``,
docs/rpc.md). A domain with RPC methods adds its ``methods`` here."""

from __future__ import annotations

from relaydesk.domains.chats import rpc as chats_rpc
from relaydesk.domains.properties import rpc as properties_rpc
from relaydesk.domains.stats import rpc as stats_rpc
from relaydesk.domains.tickets import rpc as tickets_rpc
from relaydesk.domains.users import rpc as users_rpc
from relaydesk.infra.http.rpc import Registry
from relaydesk.platform.webhooks import rpc as webhooks_rpc

registry = Registry(
    chats_rpc.methods,
    properties_rpc.methods,
    stats_rpc.methods,
    tickets_rpc.methods,
    users_rpc.methods,
    webhooks_rpc.methods,
)
router = registry.router()
