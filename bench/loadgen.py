"""Load generators for bench/run.py: ``wrk`` when available, else a pure-asyncio client.

Both drive ``GET http://127.0.0.1:PORT/PATH`` over N keep-alive HTTP/1.1 connections for a
fixed number of seconds, after an unmeasured warm-up, and return a :class:`LoadResult`. Given
several paths (e.g. different pages of a list), they send them round-robin.

* wrk: ``wrk -t1 -cN -dDs --latency --timeout 10s -s <lua> -H ... URL``. The small Lua script
  counts responses whose status is not exactly 200 (wrk itself only reports non-2xx/3xx) and,
  with several paths, rotates them in a ``request()`` function (one sequence per wrk thread).
* fallback: N asyncio stream connections, each writing a request and reading the whole response
  (Content-Length or chunked) in a loop; per-request latency is recorded. It stops at the
  deadline or after ``MAX_REQUESTS`` requests, whichever comes first; requests still in flight
  ``REQUEST_TIMEOUT`` seconds after the deadline are cancelled and counted as timeouts. It uses
  uvloop when importable. It is much slower than wrk and shares the CPU with the server, so on
  small machines it can be the bottleneck (which pulls the app/floor ratio towards 1).

Set ``BENCH_NO_WRK=1`` to force the fallback even if wrk is on PATH.
"""

from __future__ import annotations

import array
import asyncio
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

HOST = "127.0.0.1"  # the only host this harness ever talks to
MAX_REQUESTS = 2_000_000
REQUEST_TIMEOUT = 10.0  # seconds

_T = TypeVar("_T")


class LoadError(RuntimeError):
    """The load generator itself failed (not the target)."""


@dataclass
class LoadResult:
    tool: str
    requests: int  # responses received, whatever their status
    seconds: float  # measured wall time
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-200 responses + transport errors (connect/read/write/timeout)
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        transport = self.errors - self.non_200
        attempts = self.requests + transport
        return self.errors / attempts if attempts else 1.0

    @property
    def non_200(self) -> int:
        return sum(n for kind, n in self.error_kinds.items() if kind.startswith("status "))

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "error_kinds": dict(self.error_kinds),
        }


def wrk_path() -> str | None:
    """Path of wrk, or None if it is missing or ``BENCH_NO_WRK`` is set (to a non-"0" value)."""
    if os.environ.get("BENCH_NO_WRK", "") not in ("", "0"):
        return None
    return shutil.which("wrk")


def run_load(
    port: int,
    path: str | Sequence[str],
    headers: Mapping[str, str],
    *,
    connections: int,
    duration: int,
    warmup: int,
) -> LoadResult:
    """Warm up for ``warmup`` seconds (discarded), then measure for ``duration`` seconds.

    ``path`` is one path (with its query string) or several, sent round-robin."""
    paths = (path,) if isinstance(path, str) else tuple(path)
    if not paths:
        raise LoadError("no path to load")
    wrk = wrk_path()
    if wrk is not None:
        return _run_wrk(wrk, port, paths, headers, connections, duration, warmup)
    return _run_asyncio(port, paths, headers, connections, duration, warmup)


# --------------------------------------------------------------------------------------- wrk

_WRK_SCRIPT = """\
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = {}
end

function response(status, headers, body)
  if status ~= 200 then
    non200[status] = (non200[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("non200")) do
      io.write(string.format("BENCH_NON200 %d %d\\n", status, n))
    end
  end
end
"""

# Appended with several paths: each request takes the next one (wrk.format keeps the -H headers).
_WRK_ROTATE = """
local paths = {%s}
local next_path = 0

function request()
  next_path = next_path %% #paths + 1
  return wrk.format(nil, paths[next_path])
end
"""


def _lua_string(text: str) -> str:
    if not text.isascii() or not text.isprintable():
        raise LoadError(f"path not usable in a wrk script: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(paths: Sequence[str]) -> str:
    """The Lua script: non-200 counting, plus path rotation when there are several paths."""
    if len(paths) < 2:
        return _WRK_SCRIPT
    return _WRK_SCRIPT + _WRK_ROTATE % ", ".join(map(_lua_string, paths))


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([0-9.]+)(us|ms|s|m|h)\b"


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Parse ``wrk --latency`` output (plus the BENCH_NON200 lines of our Lua script)."""
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in " + _TIME, output, re.M)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+" + _TIME, output, re.M)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+" + _TIME, output, re.M)
    if not (rps and total and p50 and p99):
        raise LoadError(f"could not parse wrk output:\n{output}")
    kinds: Counter[str] = Counter()
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        for kind, n in zip(("connect", "read", "write", "timeout"), sock.groups(), strict=True):
            if int(n):
                kinds[kind] += int(n)
    for status, n in re.findall(r"^BENCH_NON200 (\d+) (\d+)$", output, re.M):
        kinds[f"status {status}"] += int(n)
    return LoadResult(
        tool="wrk",
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1), p50.group(2)),
        p99_ms=_ms(p99.group(1), p99.group(2)),
        errors=sum(kinds.values()),
        error_kinds=dict(kinds),
    )


def _run_wrk(
    wrk: str,
    port: int,
    paths: Sequence[str],
    headers: Mapping[str, str],
    connections: int,
    duration: int,
    warmup: int,
) -> LoadResult:
    url = f"http://{HOST}:{port}{paths[0]}"
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-wrk-") as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text(wrk_script(paths))

        def wrk_run(seconds: int, *extra: str) -> str:
            argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
            argv += [*extra, *header_args, url]
            try:
                proc = subprocess.run(
                    argv, capture_output=True, text=True, timeout=seconds + 60, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise LoadError(f"wrk did not finish within {seconds + 60} s") from exc
            if proc.returncode != 0:
                raise LoadError(f"wrk exited with {proc.returncode}:\n{proc.stderr}{proc.stdout}")
            return proc.stdout

        if warmup > 0:  # with the script too: several paths are rotated by it
            wrk_run(warmup, "-s", str(script))
        return parse_wrk(wrk_run(duration, "--latency", "-s", str(script)))


# ---------------------------------------------------------------------------- asyncio client


class _Shared:
    """State shared by the connection workers of one run (single thread: no locking)."""

    def __init__(self, max_requests: int) -> None:
        self.max_requests = max_requests
        self.started = 0
        self.latencies_ns = array.array("q")
        self.last_done_ns = 0
        self.errors: Counter[str] = Counter()


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return
        await reader.readexactly(size + 2)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one full response; return (status, connection reusable)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    version, status_text = lines[0].split(b" ", 2)[:2]
    status = int(status_text)
    length: int | None = None
    chunked = False
    connection = b""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            connection = value.strip().lower()
    # HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only if asked.
    keep_alive = connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
    if status in (204, 304) or status < 200:
        pass
    elif chunked:
        await _read_chunked(reader)
    elif length is not None:
        await reader.readexactly(length)
    else:  # body delimited by EOF
        await reader.read()
        keep_alive = False
    return status, keep_alive


async def _worker(port: int, requests: Sequence[bytes], shared: _Shared, deadline: float) -> None:
    clock = time.perf_counter
    clock_ns = time.perf_counter_ns
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while shared.started < shared.max_requests and clock() < deadline:
            if reader is None or writer is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, port)
                except OSError:
                    shared.errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            request = requests[shared.started % len(requests)]  # round-robin over the paths
            shared.started += 1
            t0 = clock_ns()
            try:
                writer.write(request)  # tiny request, one in flight: no need to drain
                status, keep_alive = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                shared.errors["read" if isinstance(exc, asyncio.IncompleteReadError) else "io"] += 1
                keep_alive = False
                status = 0
            except (OSError, ValueError, IndexError, asyncio.LimitOverrunError):
                shared.errors["protocol"] += 1
                keep_alive = False
                status = 0
            else:
                t1 = clock_ns()
                shared.latencies_ns.append(t1 - t0)
                shared.last_done_ns = t1
                if status != 200:
                    shared.errors[f"status {status}"] += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _drive(
    port: int, requests: Sequence[bytes], connections: int, duration: float, max_requests: int
) -> tuple[_Shared, float]:
    shared = _Shared(max_requests)
    start_ns = time.perf_counter_ns()
    deadline = time.perf_counter() + duration
    tasks = [
        asyncio.create_task(_worker(port, requests, shared, deadline)) for _ in range(connections)
    ]
    done, pending = await asyncio.wait(tasks, timeout=duration + REQUEST_TIMEOUT)
    for task in pending:
        task.cancel()
        shared.errors["timeout"] += 1
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            shared.errors[f"client {type(task.exception()).__name__}"] += 1
    end_ns = shared.last_done_ns or time.perf_counter_ns()
    return shared, max(end_ns - start_ns, 1) / 1e9


def _percentile_ms(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return math.nan
    index = min(len(sorted_ns) - 1, max(0, math.ceil(q * len(sorted_ns)) - 1))
    return sorted_ns[index] / 1e6


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, _T]], _T]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run

    def run(coro: Coroutine[Any, Any, _T]) -> _T:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)

    return run


def build_request(port: int, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _run_asyncio(
    port: int,
    paths: Sequence[str],
    headers: Mapping[str, str],
    connections: int,
    duration: int,
    warmup: int,
    max_requests: int = MAX_REQUESTS,
) -> LoadResult:
    requests = [build_request(port, path, headers) for path in paths]
    run = _event_loop_runner()

    async def warm_then_measure() -> tuple[_Shared, float]:
        if warmup > 0:
            await _drive(port, requests, connections, warmup, max_requests)
        return await _drive(port, requests, connections, duration, max_requests)

    shared, seconds = run(warm_then_measure())
    latencies = sorted(shared.latencies_ns)
    tool = "asyncio+uvloop" if run is not asyncio.run else "asyncio"
    return LoadResult(
        tool=tool,
        requests=len(latencies),
        seconds=seconds,
        rps=len(latencies) / seconds,
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        errors=sum(shared.errors.values()),
        error_kinds=dict(shared.errors),
    )
