from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """JSON rendered with orjson (datetimes must already be strings)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
