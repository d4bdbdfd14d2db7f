"""REST v2 endpoints of this domain (registered in relaydesk.app)."""

from __future__ import annotations

from relaydesk.infra.http.v2 import V2Endpoint

endpoints: list[V2Endpoint] = []
