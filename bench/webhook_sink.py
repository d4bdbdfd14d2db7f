"""A minimal, fast webhook receiver on loopback for ``bench/run.py webhooks`` (bench/README.md).

A raw asyncio protocol (uvloop when importable): HTTP/1.1 keep-alive, requests parsed by hand
(``Content-Length`` bodies only, which is what aiohttp sends for a ``bytes`` body). It is the
same receiver for the floor and for the app, in its own process, so it never shares the GIL
with the side being measured.

* ``POST`` anything: ``200`` with an empty body. Counted (``posts``); when the request has a
  ``webhook-id`` header, the id is added to a set (``distinct_ids``, so duplicates show) and the
  first such request is kept (``sample``: headers and body) for the harness to verify its
  signature.
* Connections that sent a POST are counted too (``connections``; with keep-alive, about one
  per request in flight, not one per request). A reset does not recount open connections.
* ``GET /healthz``: ``200 ok``. ``GET /stats``: the counters as JSON. ``DELETE /stats``: resets
  them (between the floor and the app). Anything else: 404. A chunked request: 501, closed.

Usage: ``python bench/webhook_sink.py --port PORT`` (127.0.0.1 only; runs until SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

HOST = "127.0.0.1"
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
MAX_HEAD = 64 * 1024


def _reply(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.posts = 0
        self.connections = 0
        self.ids: set[bytes] = set()
        self.with_id = 0
        self.sample: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "posts": self.posts,
                "connections": self.connections,
                "with_id": self.with_id,
                "distinct_ids": len(self.ids),
                "sample": self.sample,
            }
        ).encode()


STATS = Stats()


def _header(head_lower: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower-case) in a lower-cased request head."""
    start = head_lower.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    end = head_lower.find(b"\r\n", start)
    return head_lower[start : end if end >= 0 else None].strip()


def _keep_sample(head: bytes, body: bytes) -> None:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().decode().lower()] = value.strip().decode()
    STATS.sample = {"headers": headers, "body": body.decode("utf-8", errors="replace")}


class SinkProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.posted = False  # counted in STATS.connections

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out: list[bytes] = []
        close = False
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                close = len(buffer) > MAX_HEAD
                break
            head = bytes(buffer[:end])
            lower = head.lower()
            if _header(lower, b"transfer-encoding") is not None:
                out.append(_reply("501 Not Implemented", b"chunked bodies are not supported"))
                close = True
                break
            length_text = _header(lower, b"content-length")
            length = int(length_text) if length_text else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = bytes(buffer[end + 4 : total])
            del buffer[:total]
            method, _, rest = head.partition(b" ")
            path = rest.partition(b" ")[0]
            if method == b"POST":
                STATS.posts += 1
                if not self.posted:
                    self.posted = True
                    STATS.connections += 1
                message_id = _header(lower, b"webhook-id")
                if message_id is not None:
                    STATS.with_id += 1
                    STATS.ids.add(message_id)
                    if STATS.sample is None:
                        _keep_sample(head, body)
                out.append(OK)
            elif path == b"/healthz" and method == b"GET":
                out.append(_reply("200 OK", b"ok"))
            elif path == b"/stats" and method == b"GET":
                out.append(_reply("200 OK", STATS.to_json(), "application/json"))
            elif path == b"/stats" and method == b"DELETE":
                STATS.reset()
                out.append(_reply("200 OK", b"reset"))
            else:
                out.append(_reply("404 Not Found", b"not found"))
            if _header(lower, b"connection") == b"close":
                close = True
                break
        assert self.transport is not None
        if out:
            self.transport.write(b"".join(out))
        if close:
            self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, HOST, port, backlog=1024)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.port))


if __name__ == "__main__":
    main()
