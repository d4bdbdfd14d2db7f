"""Bare Starlette "floor" app for the benchmark harness (see bench/README.md).

One route answering with a ``JSONResponse`` of a dict, plus ``/healthz``. It has no middleware,
no auth, no database: it measures what uvicorn + Starlette + JSON serialisation cost on this
machine, so the relaydesk figure can be read relative to it.

Environment (set by bench/run.py; both optional):

* ``BENCH_FLOOR_PATH`` - path of the JSON route (default ``/api/v2/workspace.json``).
* ``BENCH_FLOOR_BODY`` - JSON object to answer with. The harness passes the body the real app
  returned, so both targets serialise and send the same bytes. Without it a dict shaped like the
  workspace response is used.

Served by bench/run.py as::

    python -m uvicorn floor_app:app --app-dir bench --workers 1 --log-level warning \\
        --no-access-log --loop auto --http auto --host 127.0.0.1 --port PORT
"""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

DEFAULT_PATH = "/api/v2/workspace.json"

DEFAULT_BODY: dict[str, Any] = {
    "uuid": "0b6f2f4e-3c1d-4a8e-9b7a-5d2c1e0f9a11",
    "name": "Bench",
    "country": "GB",
    "languages": ["en"],
    "primary_language": "en",
    "timezone": "Europe/London",
    "date_style": "dmy",
    "credits": {"used": 0, "remaining": 0},
    "anon": False,
}


def _load_body() -> dict[str, Any]:
    raw = os.environ.get("BENCH_FLOOR_BODY")
    if not raw:
        return DEFAULT_BODY
    try:
        body = json.loads(raw)
    except ValueError:
        return DEFAULT_BODY
    return body if isinstance(body, dict) else DEFAULT_BODY


BODY = _load_body()
PATH = os.environ.get("BENCH_FLOOR_PATH") or DEFAULT_PATH


async def payload(request: Request) -> JSONResponse:
    # Serialised on every request, as the real app has to.
    return JSONResponse(BODY)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route(PATH, payload), Route("/healthz", healthz)])
