"""``/docs`` (Swagger UI, vendored), the OpenAPI security schemes Swagger's *Authorize* offers,
and the REST v2 explorer pages (``/api/v2/``, ``/api/v2/<endpoint>``) with their *Try it*
form. Every test runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import re

import httpx

from relaydesk.app import RelaydeskApp

ASSET = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


async def test_docs_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>API documentation" in html
    assert '<a data-testid="api-host" href="http://testserver">http://testserver</a>' in html
    assert "How to authorize" in html
    assert "POST /api/v3/jwts" in html
    assets = ASSET.findall(html)
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui-dist/swagger-ui.css" in assets
    assert "/static/docs.js" in assets
    assert all(src.startswith("/static/") for src in assets), assets
    assert "<script>" not in html  # no inline script (the CSP forbids it)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


async def test_docs_page_host_falls_back_to_the_request(app: RelaydeskApp) -> None:
    settings = app.state.settings
    configured = settings.base_url
    settings.base_url = ""
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.example") as c:
            html = (await c.get("/docs")).text
            index = (await c.get("/api/v2/")).text
    finally:
        settings.base_url = configured
    assert 'href="http://api.example">http://api.example</a>' in html
    assert 'href="http://api.example">http://api.example</a>' in index


async def test_vendored_assets_are_served(client: httpx.AsyncClient) -> None:
    for path, kind in [
        ("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js", "javascript"),
        ("/static/vendor/swagger-ui-dist/swagger-ui.css", "text/css"),
        ("/static/vendor/htmx.org/htmx.min.js", "javascript"),
        ("/static/docs.js", "javascript"),
        ("/static/explorer.js", "javascript"),
    ]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], path
    bundle = await client.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    docs_js = (await client.get("/static/docs.js")).text
    for option in ('url: root.getAttribute("data-openapi-url")', "persistAuthorization: true"):
        assert option in docs_js
    for option in ("tryItOutEnabled: true", "deepLinking: true", "validatorUrl: null"):
        assert option in docs_js


async def test_openapi_security_schemes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["Token"]["description"],
    }
    assert schemes["Bearer"]["type"] == "http"
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert schemes["Basic"]["type"] == "http"
    assert schemes["Basic"]["scheme"] == "basic"
    # the JWT exchange is public: Swagger sends no credential header for it
    jwts = spec["paths"]["/api/v3/jwts"]["post"]
    assert not jwts.get("security")
    body = jwts["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "api_key" in spec["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"]
    # every other API operation declares the schemes, so *Try it out* sends the header
    for path, operations in spec["paths"].items():
        if not path.startswith(("/api/v2/", "/api/v3/")) or path == "/api/v3/jwts":
            continue
        for method, operation in operations.items():
            declared = {name for requirement in operation["security"] for name in requirement}
            assert declared == {"Token", "Bearer", "Basic"}, (method, path)
    assert {"Bearer": []} in spec["paths"]["/api/v3/me"]["get"]["security"]
    assert {"Token": []} in spec["paths"]["/api/v2/contacts.json"]["get"]["security"]


async def test_explorer_index_has_the_try_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/")
    assert response.status_code == 200
    html = response.text
    assert '<a data-testid="api-host" href="http://testserver">' in html
    assert 'href="/api/v2/contacts"' in html
    assert 'href="/docs"' in html
    assert 'id="try-form"' in html
    assert '<label for="try-endpoint">Endpoint</label>' in html
    assert '<label for="try-query">Query string' in html
    assert '<label for="try-token">API token</label>' in html
    assert 'id="try-token" name="token" type="password"' in html
    options = re.findall(r'<option value="([^"]+)">', html)
    assert {"contacts", "workspace", "groups", "fields", "labels", "globals", "users"} <= set(
        options
    )
    assert "contact_actions" not in options  # POST only
    assert re.search(r'<pre id="try-response"[^>]*>', html)
    assert 'aria-live="polite"' in html
    assert '<script src="/static/explorer.js" defer></script>' in html


async def test_endpoint_page_has_the_try_form_fixed_to_it(client: httpx.AsyncClient) -> None:
    html = (await client.get("/api/v2/contacts")).text
    assert '<a data-testid="api-host" href="http://testserver">' in html
    assert '<input type="hidden" id="try-endpoint" name="endpoint" value="contacts">' in html
    assert "GET /api/v2/contacts.json" in html
    assert '<label for="try-token">API token</label>' in html
    # a POST-only endpoint has no GET to try
    actions = (await client.get("/api/v2/contact_actions")).text
    assert "Contact" in actions
    assert 'id="try-form"' not in actions
