"""All portal routers, for app.py (each page module owns its own router)."""

from __future__ import annotations

from fastapi import APIRouter

from relaydesk.web.portal import api, invitations, oauth_apps, webhooks

router = APIRouter(include_in_schema=False)
router.include_router(api.router)
router.include_router(webhooks.router)
router.include_router(oauth_apps.router)
router.include_router(invitations.router)
