"""HTML documentation pages for REST v2 endpoints (``GET /api/v2/<endpoint>`` without ``.json``).

Each page is rendered from the same Pydantic model the endpoint's OpenAPI schema uses, so
fields and descriptions can't drift from the API.

The index (``GET /api/v2/``) is also the explorer: a *Try it* form (endpoint, query string,
API token) that ``static/explorer.js`` turns into a ``GET`` from the browser with
``Authorization: Token …``, showing the status and the JSON. Each endpoint page that has a
``GET`` carries the same form, fixed to its endpoint. The token stays in the tab's
``sessionStorage``; nothing is sent to the server but the API call itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class EndpointDoc:
    slug: str  # e.g. "workspace" → /api/v2/workspace.json
    title: str
    summary: str
    model: type[BaseModel]
    methods: tuple[str, ...] = ("GET",)
    filters: tuple[FieldDoc, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


def _type_name(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "object"
    if "anyOf" in schema:
        names = [_type_name(option, defs) for option in schema["anyOf"]]
        return " or ".join(dict.fromkeys(names))
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_name(schema.get('items', {}), defs)}"
    return str(kind)


def fields_of(model: type[BaseModel]) -> list[FieldDoc]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    return [
        FieldDoc(name, _type_name(prop, defs), prop.get("description", ""))
        for name, prop in schema.get("properties", {}).items()
    ]


def api_host(request: Request, configured: str) -> str:
    """The API host link: ``RELAYDESK_BASE_URL``, else the URL the request came in on."""
    return configured.rstrip("/") or str(request.base_url).rstrip("/")


def render_endpoint(
    request: Request, doc: EndpointDoc, base_url: str, methods: tuple[str, ...] | None = None
) -> HTMLResponse:
    """``methods``: the operations the endpoint really has (default: the doc's)."""
    template = templates.get_template("api_v2_endpoint.html")
    base_url = api_host(request, base_url)
    methods = methods or doc.methods
    html = template.render(
        doc=doc,
        methods=methods,
        example_method="GET" if "GET" in methods else methods[0],
        fields=fields_of(doc.model),
        base_url=base_url,
        url=f"{base_url}/api/v2/{doc.slug}.json",
        example=orjson.dumps(doc.example, option=orjson.OPT_INDENT_2).decode(),
        try_slugs=[doc.slug] if "GET" in methods else [],
    )
    return HTMLResponse(html)


def render_index(
    request: Request, endpoints: list[tuple[EndpointDoc, str, tuple[str, ...]]], base_url: str
) -> HTMLResponse:
    """``GET /api/v2/``: every endpoint with its methods and a link to its page."""
    template = templates.get_template("api_v2_index.html")
    base_url = api_host(request, base_url)
    rows = [
        {"slug": slug, "title": doc.title, "methods": methods, "summary": doc.summary}
        for doc, slug, methods in sorted(endpoints, key=lambda item: item[1])
    ]
    try_slugs = [row["slug"] for row in rows if "GET" in row["methods"]]
    return HTMLResponse(template.render(endpoints=rows, base_url=base_url, try_slugs=try_slugs))
