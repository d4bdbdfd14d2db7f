"""A webhook receiver on loopback for tests: records every request, answers as scripted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    at: float  # time.monotonic()
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


Responder = Callable[[Received, int], "web.Response | None"]


@dataclass
class Sink:
    url: str
    received: list[Received] = field(default_factory=list)
    # (request, how many requests this message id had before) -> response; default 200
    respond: Responder | None = None
    delay: float = 0.0  # seconds before answering (a slow receiver)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def for_message(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message_id == message_id]

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def running_sink(port: int = 0) -> AsyncIterator[Sink]:
    sink = Sink(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        got = Received(time.monotonic(), dict(request.headers), await request.read())
        before = len(sink.for_message(got.headers.get("webhook-id", "")))
        sink.received.append(got)
        sink.arrived.set()
        if sink.delay:
            await asyncio.sleep(sink.delay)
        answer = sink.respond(got, before) if sink.respond else None
        return answer if answer is not None else web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink.url = f"http://127.0.0.1:{bound}/hook"
    try:
        yield sink
    finally:
        await runner.cleanup()
