"""``GET /docs``: Swagger UI over ``/openapi.json``, every asset served from ``/static``.

Swagger UI itself is vendored (``static/vendor/swagger-ui-dist``, see
``scripts/vendor_assets.py``) and started by ``static/docs.js``: *Authorize* offers the
OpenAPI security schemes (Token, Bearer, Basic), *Try it out* is on, authorizations persist
in the browser's local storage, the validator badge (an external call) is off. The page shows
the API host link and how to authorize (v3: ``POST /api/v3/jwts``, then *Authorize* under
Bearer). The Content-Security-Policy allows this origin only: no CDN, no inline script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from relaydesk.config import Settings
from relaydesk.infra.http.docs import api_host, templates

router = APIRouter()

# Swagger UI sets style attributes (React), hence 'unsafe-inline' for styles only
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    html = templates.get_template("docs.html").render(base_url=api_host(request, settings.base_url))
    return HTMLResponse(html, headers=HEADERS)
