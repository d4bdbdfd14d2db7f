"""The raw floor of ``bench/run.py webhooks``: POSTs with a bare aiohttp loop (bench/README.md).

``--count`` POSTs of the body in ``--body-file`` (the exact bytes the worker sends for one
message) to ``--url`` (the loopback sink), ``--concurrency`` at a time: that many tasks share
one ``aiohttp.ClientSession`` with ``TCPConnector(limit=concurrency)``, each posting in a loop
until the count is reached. Every request carries the headers a delivery carries
(``content-type``, ``user-agent``, ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) with constant values of the same length, so the same bytes go over the
wire; nothing is signed, read from or written to a database. The response is read as the
worker reads it (``content.read(1024)``). Same event loop as ``relaydesk worker`` (uvloop when
installed, else asyncio's default loop).

Prints one JSON object: ``{"posts", "seconds", "rps", "errors", "error_kinds", "loop"}``,
where ``seconds`` is the wall time from the first POST to the last response.

Usage::

    python bench/webhooks_floor.py --url http://127.0.0.1:PORT/hook --count 20000 \\
        --concurrency 32 --body-file FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

RESPONSE_KEEP = 1024  # as the worker's Sender
HEADERS = {
    "content-type": "application/json",
    "user-agent": "Relaydesk-Webhooks/1.0",
    "webhook-id": "msg_" + "0" * 32,
    "webhook-timestamp": "1700000000",
    "webhook-signature": "v1," + "A" * 43 + "=",
}


async def post_loop(url: str, count: int, concurrency: int, body: bytes) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=15)
    errors: Counter[str] = Counter()
    remaining = count
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False
    ) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                try:
                    async with session.post(
                        url, data=body, headers=HEADERS, allow_redirects=False
                    ) as response:
                        await response.content.read(RESPONSE_KEEP)
                        if response.status != 200:
                            errors[f"status {response.status}"] += 1
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "posts": count,
        "seconds": round(seconds, 4),
        "rps": round(count / seconds, 1),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "loop": "asyncio",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--body-file", required=True)
    args = parser.parse_args()
    body = Path(args.body_file).read_bytes()
    try:  # the same event loop as `relaydesk worker`: uvloop when installed
        import uvloop
    except ImportError:
        result = asyncio.run(post_loop(args.url, args.count, args.concurrency, body))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(post_loop(args.url, args.count, args.concurrency, body))
        result["loop"] = "uvloop"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
