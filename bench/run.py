"""Benchmark harness: the real relaydesk server under load, measured against a reference in the
same run.

Usage::

    python bench/run.py NAME [--duration SECONDS] [--connections N] [--warmup SECONDS] [--json]
    python bench/run.py webhooks [--events N] [--connections N] [--json]
    python bench/run.py            # lists the available benchmarks (exit status 2)

Run it with the project's interpreter (``.venv/bin/python bench/run.py workspace``): the same
``sys.executable`` runs ``python -m relaydesk ...`` and ``python -m uvicorn`` for the floor.

Every benchmark (see ``BENCHMARKS``) first creates a temporary data dir and, with
``RELAYDESK_DATA_DIR`` pointing at it (any other inherited ``RELAYDESK_*`` variable is dropped, so
a configured database is never touched), runs ``relaydesk migrate`` and creates a workspace, an
administrator and a company token. Each server it starts (``relaydesk serve --no-demo`` or the
floor) gets a free 127.0.0.1 port, must answer ``/healthz`` and then one request to the endpoint
with 200, and is loaded the same way: warm-up, then ``--duration`` seconds over ``--connections``
keep-alive connections. More than 1 % failed requests (anything but 200) aborts the run.

Four kinds of benchmark:

* ``mode="floor"`` (``workspace``): the app, then the floor (bench/floor_app.py: one Starlette
  route returning the same JSON body the app returned) on another port; prints req/s, p99 and
  errors for both and the app/floor ratios. ``--json``: ``{"name", "app": {...}, "floor": {...},
  "ratio", "p99_ratio", ...}`` where ``ratio`` is app req/s divided by floor req/s.
* ``mode="ratelimit"`` (``ratelimit``): a v3 token and a workspace quota of 10^9 on every window,
  then three servers one after the other on the same data dir: limiter off, memory backend, Redis
  backend (``redis://127.0.0.1:6379/0`` under a random ``relaydesk-bench-<hex>`` key prefix,
  deleted at the end; skipped with a message if Redis is not reachable). Prints req/s, p99 and
  errors for each and the overhead ``1 - rps_on / rps_off`` against the goals (memory < 5 %,
  Redis < 15 %). ``--json``: ``{"name", "off": {...}, "memory": {...}, "redis": {...} | null,
  "overhead_pct", "goal_pct", "pass", ...}``. A goal missed is a result, not a failure.
* ``mode="pages"`` (``contacts``): seeds 100,000 contacts (with URNs, groups and fields) straight
  into the SQLite database (bench/contacts_seed.py), then compares the app with a hand-written
  floor on the same database file (bench/contacts_floor.py: aiosqlite + raw SQL + orjson, no
  ORM), which must return the same results for page 1 and page 300. For each server: walks the
  ``next`` links to page 300 and times page 1 and page 300 (median of several fetches each:
  flatness, goal page 300 within 20 % of page 1), then loads the first 40 pages round-robin.
  Prints req/s, p99, the app/floor ratios (goal >= 1.0) and the flatness figures. ``--json``:
  ``{"name", "app", "floor", "ratio", "p99_ratio", "flatness", "pass", "seed", ...}``.
* ``mode="deliveries"`` (``webhooks``): no server and no load generator. Starts a loopback
  webhook receiver (bench/webhook_sink.py, its own process), queues ``--events`` events through
  relaydesk's outbox to two webhooks (bench/webhooks_enqueue.py: ``events.emit`` in batches of
  1,000, a commit each; timed apart; the second webhook then held ``disabled``), POSTs as many
  bodies of the same size to the sink with a raw aiohttp loop (bench/webhooks_floor.py,
  ``--connections`` at a time), then starts ``relaydesk worker`` (``--connections`` in flight):
  *cold*, timed from the process start until the first webhook's messages are ``delivered``;
  then *app*, the running worker: the held webhook is enabled with one UPDATE and timed until
  its messages are ``delivered`` (polled every 0.1 s). Stops the worker (SIGTERM) and checks
  that every message is delivered with one attempt row per POST the sink saw. Prints the
  running worker's deliveries/s against the floor's POSTs/s (goal >= 0.5), the cold figures
  and the durability checks. ``--json``: ``{"name", "app" (with "cold"), "floor", "sink",
  "enqueue", "ratio", "ratio_cold", "ratio_after_startup", "ratio_goal", "pass", ...}``.
  ``--duration`` and ``--warmup`` do not apply.

Servers are always stopped (SIGTERM, SIGKILL after 5 s) and the temp dir removed.

Load generator: ``wrk`` if it is on PATH, else a pure-asyncio client (bench/loadgen.py).
Environment: ``BENCH_NO_WRK=1`` forces the asyncio client even when wrk is installed.

Exit status: 0 success, 1 failure (setup, server, or more than 1 % errors), 2 usage error,
130 interrupted (Ctrl-C), 143 SIGTERM. Progress messages always go to stderr.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast

import loadgen
from contacts_seed import SeedError, SeedSummary, seed_contacts
from loadgen import HOST, LoadResult

if TYPE_CHECKING:
    import redis

BENCH_DIR = Path(__file__).resolve().parent
REPO_SRC = BENCH_DIR.parent / "src"

MAX_ERROR_RATE = 0.01
HEALTH_TIMEOUT = 30.0  # seconds
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 120.0  # seconds per `relaydesk ...` setup command


class BenchError(RuntimeError):
    """A failure that ends the run with a message (exit status 1)."""


# ------------------------------------------------------------------------------ benchmarks


@dataclass(frozen=True)
class Fixture:
    """What the setup step created in the throwaway database."""

    workspace_uuid: str
    user_email: str
    token: str  # plaintext company token


@dataclass(frozen=True)
class Pages:
    """What a ``mode="pages"`` benchmark needs: a keyset-paginated list endpoint, seeded, against
    a hand-written floor that reads the same database."""

    seed: Callable[[Path, Fixture], SeedSummary]  # (SQLite database file, fixture)
    floor_app: str  # "module:app" in bench/, served by uvicorn like floor_app
    load_pages: int = 40  # the first N pages (following `next` links) are loaded round-robin
    deep_page: int = 300  # flatness: this page against page 1
    samples: int = 21  # fetches of page 1 and of the deep page each; medians are compared
    flatness_goal: float = 1.2  # deep page / page 1 (median latency) at most this
    ratio_goal: float = 1.0  # app req/s / floor req/s at least this


@dataclass(frozen=True)
class Deliveries:
    """What a ``mode="deliveries"`` benchmark needs: webhook events queued through the outbox,
    delivered by ``relaydesk worker`` to a loopback sink, against a raw aiohttp POST loop."""

    sink: str = "webhook_sink.py"  # in bench/: the receiver (GET /healthz, /stats)
    enqueue: str = "webhooks_enqueue.py"  # in bench/: webhook + events.emit in batches
    floor: str = "webhooks_floor.py"  # in bench/: the raw aiohttp POST loop
    batch: int = 1_000  # items per events.emit call (one commit each)
    poll_seconds: float = 0.05  # RELAYDESK_WEBHOOK_POLL_SECONDS of the worker
    ratio_goal: float = 0.5  # app deliveries/s / floor POSTs/s at least this


@dataclass(frozen=True)
class Benchmark:
    path: str
    headers: Callable[[Fixture], dict[str, str]]
    description: str
    # floor: app vs a bare Starlette app; ratelimit: limiter off vs memory vs Redis backend;
    # pages: a seeded list, app vs a hand-written floor on the same database, plus flatness;
    # deliveries: webhook deliveries by the worker vs a raw aiohttp POST loop (path: the sink's).
    mode: Literal["floor", "ratelimit", "pages", "deliveries"] = "floor"
    api_version: Literal["v2", "v3"] = "v2"  # of the company token the fixture creates
    pages: Pages | None = None  # required by mode="pages"
    deliveries: Deliveries | None = None  # required by mode="deliveries"


def token_auth(fixture: Fixture) -> dict[str, str]:
    return {"Authorization": f"Token {fixture.token}"}


def bearer_auth(fixture: Fixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {fixture.token}"}


def no_headers(fixture: Fixture) -> dict[str, str]:
    return {}


def seed_100k_contacts(db_path: Path, fixture: Fixture) -> SeedSummary:
    return seed_contacts(db_path, fixture.workspace_uuid, fixture.user_email, 100_000)


# Adding a benchmark = one entry here (the path must answer 200 to a GET with those headers).
BENCHMARKS: dict[str, Benchmark] = {
    "workspace": Benchmark(
        path="/api/v2/workspace.json",
        headers=token_auth,
        description="GET /api/v2/workspace.json with a company token (auth + lookup + JSON)",
    ),
    "ratelimit": Benchmark(
        path="/api/v3/tokens",
        headers=bearer_auth,
        description="GET /api/v3/tokens with a v3 token: rate limiter off vs memory vs Redis",
        mode="ratelimit",
        api_version="v3",
    ),
    "contacts": Benchmark(
        path="/api/v2/contacts.json",
        headers=token_auth,
        description="GET /api/v2/contacts.json, 100,000 seeded contacts: app vs a hand-written "
        "floor, page 1 vs page 300",
        mode="pages",
        pages=Pages(seed=seed_100k_contacts, floor_app="contacts_floor:app"),
    ),
    "webhooks": Benchmark(
        path="/hook",
        headers=no_headers,
        description="webhook deliveries (outbox -> signed POST -> attempt row committed) by "
        "`relaydesk worker` to a loopback sink vs a raw aiohttp POST loop",
        mode="deliveries",
        deliveries=Deliveries(),
    ),
}


# --------------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# No proxies: http_proxy & co. must never see benchmark traffic.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def http_get(port: int, path: str, headers: Mapping[str, str]) -> Response:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=dict(headers))
    try:
        with _HTTP.open(request, timeout=10) as response:
            received = {k.lower(): v for k, v in response.headers.items()}
            return Response(response.status, received, response.read())
    except urllib.error.HTTPError as exc:
        received = {k.lower(): v for k, v in exc.headers.items()}
        return Response(exc.code, received, exc.read())


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object printed by a ``--json`` command (tolerates stray lines around it)."""
    candidates = [text, *reversed(text.splitlines())]
    for candidate in (c.strip() for c in candidates):
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError("no JSON object in output")


def base_env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RELAYDESK_")}
    # Byte-compiled modules, as an installed deployment has them: with PYTHONDONTWRITEBYTECODE=1
    # (set on some development machines) every process the benchmark starts would compile
    # relaydesk's modules from source again. Python writes them to src/**/__pycache__
    # (ignored by git), as a first run of any checkout does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        RELAYDESK_DATA_DIR=str(data_dir),
        RELAYDESK_LOG_LEVEL="warning",
        RELAYDESK_RATE_LIMITS="off",
        PYTHONUNBUFFERED="1",
    )
    # Benchmark this checkout's code even if another relaydesk is installed.
    if REPO_SRC.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_SRC), os.environ.get("PYTHONPATH", "")) if p
        )
    return env


@contextlib.contextmanager
def workdir(name: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary data dir (removed afterwards) and the base environment pointing at it."""
    tmp = Path(tempfile.mkdtemp(prefix=f"relaydesk-bench-{name}-"))
    try:
        yield tmp, base_env(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_checked(
    argv: list[str], env: Mapping[str, str], cwd: Path, shown: str, timeout: float
) -> str:
    """Run ``argv``; its stdout, or a BenchError naming ``shown`` (exit status, timeout)."""
    try:
        proc = subprocess.run(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{shown} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise BenchError(
            f"{shown} failed with exit status {proc.returncode}:\n{proc.stderr}{proc.stdout}"
        )
    return proc.stdout


def relaydesk_cli(env: Mapping[str, str], cwd: Path, *args: str) -> str:
    argv = [sys.executable, "-m", "relaydesk", *args]
    return run_checked(argv, env, cwd, "`relaydesk " + " ".join(args) + "`", CLI_TIMEOUT)


def relaydesk_json(env: Mapping[str, str], cwd: Path, *args: str, key: str) -> Any:
    out = relaydesk_cli(env, cwd, *args)
    try:
        return parse_json_object(out)[key]
    except (ValueError, KeyError) as exc:
        raise BenchError(f"`relaydesk {' '.join(args)}`: no {key!r} in its output:\n{out}") from exc


def create_fixture(env: Mapping[str, str], cwd: Path, api_version: str = "v2") -> Fixture:
    email = "bench@example.com"
    log("relaydesk migrate")
    relaydesk_cli(env, cwd, "migrate")
    log(f"creating workspace, user and company token ({api_version})")
    uuid = str(relaydesk_json(env, cwd, "workspace", "create", "Bench", "--json", key="uuid"))
    relaydesk_cli(
        env, cwd, "user", "create", email, "--workspace", uuid, "--role", "administrator", "--json"
    )
    token = relaydesk_json(
        env,
        cwd,
        *("token", "create", "--workspace", uuid, "--user", email, "--kind", "company"),
        *("--api-version", api_version, "--json"),
        key="token",
    )
    return Fixture(workspace_uuid=uuid, user_email=email, token=str(token))


# --------------------------------------------------------------------------------- servers


class Server:
    """A server subprocess in its own process group, logging to a file."""

    def __init__(
        self, label: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, port: int
    ) -> None:
        self.label = label
        self.port = port
        self.log_path = cwd / f"{label}.log"
        with self.log_path.open("wb") as log_file:
            self.proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return tail or "(empty log)"

    def fail(self, message: str) -> NoReturn:
        raise BenchError(
            f"{self.label}: {message}\n--- last lines of its output ---\n{self.log_tail()}"
        )

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            code = self.proc.poll()
            if code is not None:
                self.fail(f"exited with status {code} before /healthz answered 200")
            try:
                status = http_get(self.port, "/healthz", {}).status
            except OSError as exc:
                last = str(exc)
            else:
                if status == 200:
                    return
                last = f"HTTP {status}"
            if time.monotonic() > deadline:
                self.fail(f"/healthz did not answer 200 within {timeout:.0f} s (last: {last})")
            time.sleep(0.1)

    def _signal_group(self, sig: signal.Signals) -> bool:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                log(f"{self.label} did not stop within {STOP_GRACE:.0f} s; killing it")
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        # Leftover members of its group (e.g. worker processes) get no second chance.
        self._signal_group(signal.SIGKILL)


@contextlib.contextmanager
def running(
    label: str, argv_for: Callable[[int], list[str]], env: Mapping[str, str], cwd: Path
) -> Iterator[Server]:
    """Start ``argv_for(port)`` on a free port, wait for /healthz, always stop it afterwards."""
    port = free_port()
    log(f"starting {label} on http://{HOST}:{port}")
    server = Server(label, argv_for(port), env, cwd, port)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def app_argv(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "relaydesk", "serve"),
        *("--host", HOST, "--port", str(port), "--no-demo"),
    ]


def uvicorn_argv(app_spec: str) -> Callable[[int], list[str]]:
    """argv_for(port) serving ``app_spec`` (a module in bench/) the way floors are served."""

    def argv_for(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "uvicorn", app_spec, "--app-dir", str(BENCH_DIR)),
            *("--host", HOST, "--port", str(port), "--workers", "1"),
            *("--log-level", "warning", "--no-access-log", "--loop", "auto", "--http", "auto"),
        ]

    return argv_for


floor_argv = uvicorn_argv("floor_app:app")


def floor_env(env: Mapping[str, str], path: str, body: bytes | None) -> dict[str, str]:
    """Environment for the floor: its route path and, if given, the JSON body to answer with."""
    result = dict(env)
    result["BENCH_FLOOR_PATH"] = path
    if body is None:
        return result
    try:
        if isinstance(json.loads(body), dict):
            result["BENCH_FLOOR_BODY"] = body.decode()
    except ValueError:
        log("the app's response is not a JSON object; the floor uses its default body")
    return result


def preflight(
    server: Server,
    path: str,
    headers: Mapping[str, str],
    expect_headers: Mapping[str, bool] | None = None,
) -> bytes:
    """One request before loading: it must answer 200 and carry (True) or lack (False) each
    header named in ``expect_headers``. Returns the body."""
    try:
        response = http_get(server.port, path, headers)
    except OSError as exc:
        server.fail(f"GET {path} failed: {exc}")
    if response.status != 200:
        server.fail(
            f"GET {path} answered {response.status} instead of 200: {response.body[:500]!r}"
        )
    for name, wanted in (expect_headers or {}).items():
        present = name.lower() in response.headers
        if present != wanted:
            got = ", ".join(sorted(response.headers)) or "none"
            server.fail(
                f"GET {path}: the response {'lacks' if wanted else 'has'} a {name} header, "
                f"it should {'' if wanted else 'not '}have one (headers: {got})"
            )
    return response.body


# ------------------------------------------------------------------------------------ run


@dataclass(frozen=True)
class Options:
    duration: int
    connections: int
    warmup: int
    self_test: bool
    page_size: int = 50  # mode="pages": RELAYDESK_PAGE_SIZE of the app (the floor follows)
    events: int = 20_000  # mode="deliveries": events queued (and POSTs by the floor)


def measure(
    server: Server,
    bench: Benchmark,
    headers: Mapping[str, str],
    opts: Options,
    paths: Sequence[str] | None = None,
) -> LoadResult:
    """Load ``bench.path`` (or ``paths``, round-robin) and check the error rate."""
    spread = f", {len(paths)} paths round-robin" if paths else ""
    log(
        f"loading {server.label}: {opts.warmup} s warm-up + {opts.duration} s, "
        f"{opts.connections} connections{spread}"
    )
    try:
        result = loadgen.run_load(
            server.port,
            paths or bench.path,
            headers,
            connections=opts.connections,
            duration=opts.duration,
            warmup=opts.warmup,
        )
    except loadgen.LoadError as exc:
        raise BenchError(str(exc)) from exc
    if result.error_rate > MAX_ERROR_RATE:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.error_kinds.items()))
        hint = " (rate limiting still on?)" if "status 429" in result.error_kinds else ""
        server.fail(
            f"{result.error_rate:.1%} of requests failed (more than {MAX_ERROR_RATE:.0%}): "
            f"{result.errors} errors for {result.requests} responses [{kinds}]{hint}; "
            "aborting, the figures would not mean anything"
        )
    if server.proc.poll() is not None:
        server.fail(f"exited with status {server.proc.returncode} during the run")
    return result


def run_header(result: Mapping[str, Any]) -> str:
    return (
        f"benchmark {result['name']}: GET {result['path']}, {result['connections']} connections, "
        f"{result['duration']} s (after {result['warmup']} s warm-up), load: {result['loadgen']}"
    )


TABLE_HEADER = f"{'target':<8} {'req/s':>10} {'p99 ms':>9} {'errors':>7} {'requests':>10}"


def table_row(target: str, row: Mapping[str, Any]) -> str:
    return (
        f"{target:<8} {row['rps']:>10.1f} {row['p99_ms']:>9.2f} {row['errors']:>7} "
        f"{row['requests']:>10}"
    )


def app_floor_ratios(app: LoadResult, floor: LoadResult) -> dict[str, float | None]:
    """``ratio`` (app req/s / floor req/s) and ``p99_ratio`` (app p99 / floor p99)."""
    return {
        "ratio": round(app.rps / floor.rps, 4) if floor.rps else None,
        "p99_ratio": round(app.p99_ms / floor.p99_ms, 4) if floor.p99_ms else None,
    }


def app_floor_lines(result: Mapping[str, Any], goal: str = "") -> list[str]:
    """The table of the app and floor rows, then the two ratios (``goal`` after req/s)."""
    lines = [TABLE_HEADER, *(table_row(target, result[target]) for target in ("app", "floor"))]
    ratio, p99_ratio = result["ratio"], result["p99_ratio"]
    return [
        *lines,
        "",
        f"ratio (app/floor) req/s: {ratio:.2f}{goal}" if ratio is not None else "ratio: n/a",
        f"ratio (app/floor) p99:   {p99_ratio:.2f}" if p99_ratio is not None else "p99: n/a",
    ]


# ------------------------------------------------------------------ mode "floor": app vs floor


def run_floor_comparison(name: str, bench: Benchmark, opts: Options) -> dict[str, Any]:
    with workdir(name) as (tmp, env), contextlib.ExitStack() as stack:
        if opts.self_test:
            log("self-test: the floor app stands in for relaydesk")
            fixture = Fixture("self-test", "bench@example.com", "self-test-token")
            app_cmd, app_env = floor_argv, floor_env(env, bench.path, None)
        else:
            fixture = create_fixture(env, tmp, bench.api_version)
            app_cmd, app_env = app_argv, env
        headers = bench.headers(fixture)
        app = stack.enter_context(running("app", app_cmd, app_env, tmp))
        body = preflight(app, bench.path, headers)

        env_for_floor = floor_env(env, bench.path, body)
        floor = stack.enter_context(running("floor", floor_argv, env_for_floor, tmp))
        floor_body = preflight(floor, bench.path, headers)

        app_result = measure(app, bench, headers, opts)
        floor_result = measure(floor, bench, headers, opts)

    return {
        "name": name,
        "path": bench.path,
        "self_test": opts.self_test,
        "loadgen": app_result.tool,
        "duration": opts.duration,
        "warmup": opts.warmup,
        "connections": opts.connections,
        "body_bytes": {"app": len(body), "floor": len(floor_body)},
        "app": app_result.to_json(),
        "floor": floor_result.to_json(),
        **app_floor_ratios(app_result, floor_result),
    }


def format_floor_table(result: dict[str, Any]) -> str:
    lines = [
        run_header(result) + (" [SELF-TEST: floor vs floor]" if result["self_test"] else ""),
        "",
        *app_floor_lines(result),
    ]
    return "\n".join(lines)


# ------------------------------------------------- mode "ratelimit": limiter off/memory/Redis

REDIS_URL = f"redis://{HOST}:6379/0"
UNLIMITED = "1000000000"  # per-workspace quota override for every window: nothing is throttled
POLICY_HEADER = "RateLimit-Policy"
TARGETS = ("off", "memory", "redis")
OVERHEAD_GOALS_PCT = {"memory": 5.0, "redis": 15.0}  # overhead = 1 - rps_on / rps_off
_DAY_COUNTER = re.compile(r":\{w\d+\}:d:\d+$")  # the limiter's per-workspace day counters


@dataclass(frozen=True)
class Variant:
    name: str
    env: dict[str, str]  # on top of base_env (which has RELAYDESK_RATE_LIMITS=off)
    limited: bool  # responses carry the RateLimit-Policy header


def lift_quotas(env: Mapping[str, str], cwd: Path, workspace_uuid: str) -> None:
    log(f"raising the workspace's quotas to {UNLIMITED} per minute, day and endpoint-hour")
    limits = relaydesk_json(
        env,
        cwd,
        *("workspace", "update", workspace_uuid, "--limit-minute", UNLIMITED),
        *("--limit-day", UNLIMITED, "--limit-endpoint-hour", UNLIMITED, "--json"),
        key="limits",
    )
    wanted = {"minute": int(UNLIMITED), "day": int(UNLIMITED), "endpoint_hour": int(UNLIMITED)}
    if limits != wanted:
        raise BenchError(f"`relaydesk workspace update`: limits are {limits}, not {wanted}")


def redis_client() -> redis.Redis:
    import redis  # only needed (and only imported) for the Redis run

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=5.0)


def redis_unavailable() -> str | None:
    """Why the Redis run cannot happen, or None if Redis answers on 127.0.0.1:6379."""
    try:
        client = redis_client()
    except ImportError:
        return f"the redis package is not importable by {sys.executable}"
    try:
        client.ping()
    except Exception as exc:  # redis.RedisError, OSError: anything means "not usable"
        return f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
    finally:
        client.close()
    return None


def redis_prefix_keys(client: redis.Redis, prefix: str) -> list[bytes]:
    return list(client.scan_iter(match=f"{prefix}*", count=1000))


def redis_counted_hits(prefix: str) -> int:
    """Requests the Redis limiter admitted under ``prefix`` (sum of the workspace day counters)."""
    client = redis_client()
    try:
        keys = [k for k in redis_prefix_keys(client, prefix) if _DAY_COUNTER.search(k.decode())]
        return sum(int(cast(bytes, client.get(key)) or 0) for key in keys)
    except Exception as exc:
        raise BenchError(f"reading the limiter's counters from {REDIS_URL}: {exc}") from exc
    finally:
        client.close()


def redis_cleanup(prefix: str) -> None:
    """Delete every key under ``prefix``; never raises (it runs in finally blocks)."""
    try:
        client = redis_client()
        try:
            keys = redis_prefix_keys(client, prefix)
            deleted = 0
            for start in range(0, len(keys), 500):
                deleted += int(client.delete(*keys[start : start + 500]))
        finally:
            client.close()
    except Exception as exc:
        log(
            f"warning: could not delete the Redis keys {prefix}* ({type(exc).__name__}: {exc}); "
            f"delete them with: redis-cli --scan --pattern '{prefix}*' | xargs redis-cli del"
        )
        return
    log(f"deleted {deleted} Redis keys {prefix}*")


def run_ratelimit(name: str, bench: Benchmark, opts: Options) -> dict[str, Any]:
    prefix = f"relaydesk-bench-{secrets.token_hex(8)}"
    redis_skipped = redis_unavailable()
    if redis_skipped is not None:
        log(f"SKIPPING the Redis run: {redis_skipped}")
    variants = [
        Variant("off", {"RELAYDESK_RATE_LIMITS": "off"}, limited=False),
        Variant("memory", {"RELAYDESK_RATE_LIMITS": "on"}, limited=True),
    ]
    if redis_skipped is None:
        redis_env = {
            "RELAYDESK_RATE_LIMITS": "on",
            "RELAYDESK_REDIS_URL": REDIS_URL,
            "RELAYDESK_REDIS_PREFIX": prefix,
        }
        variants.append(Variant("redis", redis_env, limited=True))

    results: dict[str, LoadResult] = {}
    redis_hits: int | None = None
    with workdir(name) as (tmp, env):
        fixture = create_fixture(env, tmp, bench.api_version)
        lift_quotas(env, tmp, fixture.workspace_uuid)
        headers = bench.headers(fixture)
        try:
            for variant in variants:  # one server at a time, same data dir, same load
                with running(variant.name, app_argv, {**env, **variant.env}, tmp) as server:
                    preflight(server, bench.path, headers, {POLICY_HEADER: variant.limited})
                    result = measure(server, bench, headers, opts)
                    if "status 429" in result.error_kinds:
                        server.fail(
                            f"{result.error_kinds['status 429']} responses were 429 despite the "
                            f"{UNLIMITED} quotas: the figures would include throttled requests"
                        )
                results[variant.name] = result
                if variant.name == "redis":
                    redis_hits = redis_counted_hits(prefix)
                    if redis_hits < result.requests:
                        raise BenchError(
                            f"redis: Redis counted {redis_hits} admitted requests for "
                            f"{result.requests} measured responses: the limiter did not (always) "
                            "reach Redis (it fails open), so this is not a Redis measurement"
                        )
        finally:
            if redis_skipped is None:
                redis_cleanup(prefix)

    off = results["off"]
    overhead: dict[str, float | None] = {}
    passed: dict[str, bool | None] = {}
    for target, goal in OVERHEAD_GOALS_PCT.items():
        on = results.get(target)
        pct = (1 - on.rps / off.rps) * 100 if on is not None and off.rps else None
        overhead[target] = round(pct, 2) if pct is not None else None
        passed[target] = pct < goal if pct is not None else None
    return {
        "name": name,
        "path": bench.path,
        "loadgen": off.tool,
        "duration": opts.duration,
        "warmup": opts.warmup,
        "connections": opts.connections,
        "redis_url": REDIS_URL,
        "redis_prefix": prefix if redis_skipped is None else None,
        "redis_skipped": redis_skipped,
        "redis_hits_counted": redis_hits,
        **{target: results[target].to_json() if target in results else None for target in TARGETS},
        "overhead_pct": overhead,
        "goal_pct": dict(OVERHEAD_GOALS_PCT),
        "pass": passed,
    }


def format_ratelimit_table(result: dict[str, Any]) -> str:
    lines = [
        run_header(result),
        f"rate limiter off / memory backend / Redis backend ({result['redis_url']}), "
        "one server at a time",
        "",
        TABLE_HEADER,
    ]
    for target in TARGETS:
        row = result[target]
        if row is not None:
            lines.append(table_row(target, row))
        else:
            lines.append(f"{target:<8} skipped: {result['redis_skipped']}")
    lines.append("")
    for target, goal in result["goal_pct"].items():
        pct = result["overhead_pct"][target]
        if pct is None:
            lines.append(f"overhead {target} vs off: n/a (run skipped)  goal < {goal:g}%")
        else:
            mark = "PASS" if result["pass"][target] else "MISS"
            lines.append(f"overhead {target} vs off: {pct:.1f}%  goal < {goal:g}%: {mark}")
    return "\n".join(lines)


# ----------------------------------- mode "pages": a seeded list, app vs hand-written floor


def sqlite_database(data_dir: Path) -> Path:
    """The SQLite file ``relaydesk migrate`` created in the data dir (the default database)."""
    path = data_dir / "relaydesk.db"
    if not path.is_file():
        raise BenchError(f"no SQLite database at {path} after `relaydesk migrate`")
    return path


class KeepAlive:
    """One keep-alive HTTP/1.1 connection to a server, for timed GETs one after the other."""

    def __init__(self, server: Server, headers: Mapping[str, str]) -> None:
        self.server = server
        self.headers = dict(headers)
        self.conn = http.client.HTTPConnection(HOST, server.port, timeout=30)

    def close(self) -> None:
        self.conn.close()

    def get(self, path: str) -> tuple[float, bytes]:
        """(milliseconds from sending the request to the end of the body, body); 200 only."""
        try:
            started = time.perf_counter()
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.server.fail(f"GET {path} failed: {type(exc).__name__}: {exc}")
        if response.status != 200:
            self.server.fail(f"GET {path} answered {response.status}: {body[:500]!r}")
        return elapsed, body

    def local_path(self, url: str) -> str:
        """Path and query of an absolute link the server returned (which must point at it)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or parts.netloc != f"{HOST}:{self.server.port}":
            self.server.fail(
                f"a link points elsewhere than http://{HOST}:{self.server.port}: {url}"
            )
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Walk:
    paths: list[str]  # of pages 1, 2, ... (page 1 is the bare path)
    first: dict[str, Any]  # page 1 and the last page walked, parsed
    last: dict[str, Any]
    seconds: float


def page_object(server: Server, body: bytes, path: str) -> dict[str, Any]:
    try:
        page = json.loads(body)
    except ValueError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        server.fail(f"GET {path}: not a {{'next', 'previous', 'results'}} page: {body[:300]!r}")
    return page


def walk_pages(client: KeepAlive, path: str, pages: int) -> Walk:
    """Follow ``next`` links from ``path`` to page ``pages``."""
    log(f"{client.server.label}: following `next` links to page {pages}")
    started = time.perf_counter()
    paths = [path]
    first = page = page_object(client.server, client.get(path)[1], path)
    while len(paths) < pages:
        link = page.get("next")
        if not isinstance(link, str):
            client.server.fail(f"page {len(paths)} has no `next` link: only {len(paths)} pages")
        paths.append(client.local_path(link))
        page = page_object(client.server, client.get(paths[-1])[1], paths[-1])
    return Walk(paths, first, page, time.perf_counter() - started)


def flatness(client: KeepAlive, walk: Walk, spec: Pages) -> dict[str, Any]:
    """Median latency of page 1 and of the last page walked, fetched alternately."""
    first, deep = walk.paths[0], walk.paths[-1]
    for _ in range(3):  # warm-up (discarded)
        client.get(first)
        client.get(deep)
    first_ms, deep_ms = [], []
    for _ in range(spec.samples):
        first_ms.append(client.get(first)[0])
        deep_ms.append(client.get(deep)[0])
    page_1, page_n = statistics.median(first_ms), statistics.median(deep_ms)
    ratio = page_n / page_1
    return {
        "page_1_ms": round(page_1, 3),
        "page_n_ms": round(page_n, 3),
        "ratio": round(ratio, 4),
        "pass": ratio <= spec.flatness_goal,
        "walk_seconds": round(walk.seconds, 2),
    }


def first_difference(app: Any, floor: Any, where: str = "") -> str | None:
    """Where two JSON values first differ (``None`` if they are equal)."""
    if isinstance(app, dict) and isinstance(floor, dict):
        if app.keys() != floor.keys():
            return f"{where or 'top level'}: keys {sorted(app)} (app) vs {sorted(floor)} (floor)"
        for key in app:
            found = first_difference(app[key], floor[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(app, list) and isinstance(floor, list):
        if len(app) != len(floor):
            return f"{where}: {len(app)} items (app) vs {len(floor)} (floor)"
        for index, (a, f) in enumerate(zip(app, floor, strict=True)):
            found = first_difference(a, f, f"{where}[{index}]")
            if found:
                return found
        return None
    if app != floor or type(app) is not type(floor):
        return f"{where}: {app!r} (app) vs {floor!r} (floor)"
    return None


def same_results(app: Walk, floor: Walk) -> None:
    """The floor must do the app's work: same results on page 1 and on the deep page."""
    pages = ((1, app.first, floor.first), (len(app.paths), app.last, floor.last))
    for number, app_page, floor_page in pages:
        found = first_difference(app_page["results"], floor_page["results"], "results")
        if found:
            raise BenchError(
                f"the floor does not return the app's page {number}: {found}. Update "
                "the floor (bench/contacts_floor.py) so both do the same work"
            )


def run_pages(name: str, bench: Benchmark, opts: Options) -> dict[str, Any]:
    spec = bench.pages
    if spec is None:
        raise BenchError(f"benchmark {name!r} has mode 'pages' but no Pages spec")
    with workdir(name) as (tmp, env), contextlib.ExitStack() as stack:
        fixture = create_fixture(env, tmp, bench.api_version)
        database = sqlite_database(tmp)
        log(f"seeding {database}")
        try:
            seeded = spec.seed(database, fixture)
        except SeedError as exc:
            raise BenchError(f"seeding: {exc}") from exc
        log(f"seeded {seeded.contacts} contacts in {seeded.seconds:.1f} s")
        headers = bench.headers(fixture)

        app_env = {**env, "RELAYDESK_PAGE_SIZE": str(opts.page_size)}
        app = stack.enter_context(running("app", app_argv, app_env, tmp))
        app_body = preflight(app, bench.path, headers)
        page_size = len(page_object(app, app_body, bench.path)["results"])
        if page_size != opts.page_size:
            raise BenchError(f"the app answered {page_size} rows, not {opts.page_size}")
        floor_vars = {
            "BENCH_FLOOR_DB": str(database),
            "BENCH_FLOOR_PATH": bench.path,
            "BENCH_FLOOR_PAGE_SIZE": str(page_size),
        }
        floor_cmd = uvicorn_argv(spec.floor_app)
        floor = stack.enter_context(running("floor", floor_cmd, {**env, **floor_vars}, tmp))
        floor_body = preflight(floor, bench.path, headers)

        walks: dict[str, Walk] = {}
        flat: dict[str, dict[str, Any]] = {}
        for server in (app, floor):
            client = KeepAlive(server, headers)
            try:
                walks[server.label] = walk_pages(client, bench.path, spec.deep_page)
                flat[server.label] = flatness(client, walks[server.label], spec)
            finally:
                client.close()
        same_results(walks["app"], walks["floor"])

        load_paths = {label: walk.paths[: spec.load_pages] for label, walk in walks.items()}
        app_result = measure(app, bench, headers, opts, load_paths["app"])
        floor_result = measure(floor, bench, headers, opts, load_paths["floor"])

    ratios = app_floor_ratios(app_result, floor_result)
    ratio = ratios["ratio"]
    return {
        "name": name,
        "path": bench.path,
        "loadgen": app_result.tool,
        "duration": opts.duration,
        "warmup": opts.warmup,
        "connections": opts.connections,
        "page_size": page_size,
        "load_pages": spec.load_pages,
        "seed": seeded.to_json(),
        "body_bytes": {"app": len(app_body), "floor": len(floor_body)},
        "app": app_result.to_json(),
        "floor": floor_result.to_json(),
        **ratios,
        "ratio_goal": spec.ratio_goal,
        "flatness": {
            "page_n": spec.deep_page,
            "samples": spec.samples,
            "goal_ratio": spec.flatness_goal,
            **flat,
        },
        "pass": {
            "ratio": ratio >= spec.ratio_goal if ratio is not None else None,
            "flatness": flat["app"]["pass"],
        },
    }


def mark(passed: bool | None) -> str:
    return {True: "PASS", False: "MISS", None: "n/a"}[passed]


def format_pages_table(result: dict[str, Any]) -> str:
    flat = result["flatness"]
    n = flat["page_n"]
    seed = result["seed"]
    lines = [
        run_header(result),
        f"{seed['contacts']} contacts seeded ({seed['groups']} groups, {seed['fields']} fields); "
        f"pages of {result['page_size']}, pages 1-{result['load_pages']} loaded round-robin",
        "",
        *app_floor_lines(
            result, f"  goal >= {result['ratio_goal']:.2f}: {mark(result['pass']['ratio'])}"
        ),
        "",
        f"flatness (median of {flat['samples']} fetches each)",
        f"{'target':<8} {'page 1 ms':>10} {f'page {n} ms':>12} {f'page {n}/1':>11}",
    ]
    for target in ("app", "floor"):
        row = flat[target]
        goal = f"  goal <= {flat['goal_ratio']:.2f}: {mark(row['pass'])}" if target == "app" else ""
        lines.append(
            f"{target:<8} {row['page_1_ms']:>10.2f} {row['page_n_ms']:>12.2f} "
            f"{row['ratio']:>11.2f}{goal}"
        )
    return "\n".join(lines)


# ----------------------- mode "deliveries": the webhook worker vs a raw aiohttp POST loop

DELIVERY_TIMEOUT = 60.0  # seconds for the worker to deliver everything, plus 1 s per 100 events
PROGRESS_POLL = 0.1  # seconds between two counts of delivered messages
HELD_SETTLE = 1.0  # seconds the worker idles between the cold and the running-worker phases
WEBHOOK_SECRET_PREFIX = "whsec_"


def bench_script(
    env: Mapping[str, str], cwd: Path, script: str, *args: str, timeout: float
) -> dict[str, Any]:
    """Run ``bench/<script> args`` with this interpreter; its output's JSON object."""
    argv = [sys.executable, str(BENCH_DIR / script), *args]
    stdout = run_checked(argv, env, cwd, f"bench/{script}", timeout)
    try:
        return parse_json_object(stdout)
    except ValueError as exc:
        raise BenchError(f"bench/{script}: no JSON object in its output:\n{stdout}") from exc


def script_argv(script: str) -> Callable[[int], list[str]]:
    """argv_for(port) of a bench/ script taking ``--port``."""
    return lambda port: [sys.executable, str(BENCH_DIR / script), "--port", str(port)]


def sink_stats(sink: Server, *, reset: bool = False) -> dict[str, Any]:
    """The sink's counters (``GET /stats``), or reset them (``DELETE /stats``)."""
    request = urllib.request.Request(
        f"http://{HOST}:{sink.port}/stats", method="DELETE" if reset else "GET"
    )
    try:
        with _HTTP.open(request, timeout=10) as response:
            body = response.read()
    except OSError as exc:
        sink.fail(f"{request.method} /stats failed: {exc}")
    return {} if reset else cast(dict[str, Any], json.loads(body))


def signature_verified(secret: str, sample: Mapping[str, Any] | None) -> bool:
    """Whether a request the sink received carries a Standard Webhooks signature of its id,
    timestamp and body made with the webhook's secret."""
    if not sample:
        return False
    headers, body = sample["headers"], str(sample["body"]).encode()
    signed = b"%s.%s.%s" % (
        str(headers.get("webhook-id", "")).encode(),
        str(headers.get("webhook-timestamp", "")).encode(),
        body,
    )
    key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return expected in str(headers.get("webhook-signature", "")).split()


def db_epoch(value: str | None) -> float | None:
    """A naive UTC timestamp as SQLAlchemy stores it on SQLite, as a Unix time."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


def count_delivered(conn: sqlite3.Connection, webhook_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM webhook_messages WHERE status = 'delivered' AND webhook_id = ?",
        (webhook_id,),
    )
    return int(row.fetchone()[0])


def durability(conn: sqlite3.Connection) -> dict[str, Any]:
    """What the database holds once the worker has stopped."""
    statuses = dict(conn.execute("SELECT status, count(*) FROM webhook_messages GROUP BY status"))
    attempts, succeeded, messages, first, last = conn.execute(
        "SELECT count(*), coalesce(sum(succeeded), 0), count(DISTINCT message_id),"
        " min(attempted_on), max(attempted_on) FROM webhook_attempts"
    ).fetchone()
    return {
        "messages": {str(k): int(v) for k, v in statuses.items()},
        "attempts": int(attempts),
        "attempts_succeeded": int(succeeded),
        "attempted_messages": int(messages),
        "first_attempt_on": db_epoch(first),
        "last_attempt_on": db_epoch(last),
    }


def worker_env(env: Mapping[str, str], concurrency: int, spec: Deliveries) -> dict[str, str]:
    return {
        **env,
        "RELAYDESK_WEBHOOK_ALLOW_PRIVATE": "1",  # plain http to 127.0.0.1
        "RELAYDESK_WEBHOOK_CONCURRENCY": str(concurrency),
        "RELAYDESK_WEBHOOK_ENDPOINT_CONCURRENCY": str(concurrency),
        "RELAYDESK_WEBHOOK_WORKSPACE_CONCURRENCY": str(concurrency),
        "RELAYDESK_WEBHOOK_POLL_SECONDS": str(spec.poll_seconds),
        "RELAYDESK_LOG_LEVEL": "warning",
    }


def wait_delivered(
    conn: sqlite3.Connection,
    worker: Server,
    webhook_id: int,
    events: int,
    started: float,
    timeout: float,
) -> float:
    """Seconds from ``started`` (perf_counter) until ``events`` messages of the webhook are
    delivered (counted every PROGRESS_POLL s)."""
    while True:
        delivered = count_delivered(conn, webhook_id)
        if delivered >= events:
            return time.perf_counter() - started
        if worker.proc.poll() is not None:
            worker.fail(f"exited with status {worker.proc.returncode}: {delivered} sent")
        if time.perf_counter() - started > timeout:
            worker.fail(f"only {delivered} of {events} delivered after {timeout:.0f} s")
        time.sleep(PROGRESS_POLL)


def deliver_all(
    env: Mapping[str, str],
    cwd: Path,
    database: Path,
    queued: Mapping[str, Any],
    sink: Server,
    spec: Deliveries,
    c: int,
) -> dict[str, Any]:
    """Start ``relaydesk worker`` with the first webhook's messages due (cold: timed from the
    process start); once they are delivered, enable the held webhook with one UPDATE (running
    worker: timed from that commit) and time its messages too. Then stop the worker (SIGTERM)
    and read back what it wrote."""
    events = int(queued["events"])
    cold_id, held_id = int(queued["webhook_id"]), int(queued["held"]["webhook_id"])
    timeout = DELIVERY_TIMEOUT + events / 100
    with contextlib.closing(sqlite3.connect(database, isolation_level=None, timeout=10)) as conn:
        conn.execute("PRAGMA busy_timeout=10000")
        if count_delivered(conn, cold_id) or count_delivered(conn, held_id):
            raise BenchError("messages were delivered before the worker started")
        log(f"starting relaydesk worker: {c} deliveries in flight at most, {events} due")
        started_at = time.time()
        started = time.perf_counter()
        worker = Server(
            "worker",
            [sys.executable, "-m", "relaydesk", "worker"],
            worker_env(env, c, spec),
            cwd,
            port=0,
        )
        try:
            cold_seconds = wait_delivered(conn, worker, cold_id, events, started, timeout)
            log(f"cold start: all {events} delivered in {cold_seconds:.2f} s")
            cold_sink = sink_stats(sink, reset=False)
            sink_stats(sink, reset=True)
            time.sleep(HELD_SETTLE)  # the worker idles: nothing due
            log(f"running worker: enabling the held webhook ({events} messages due at once)")
            conn.execute(
                "UPDATE webhooks SET state = 'healthy', disabled_reason = NULL WHERE id = ?",
                (held_id,),
            )  # autocommit: committed when execute returns
            released = time.perf_counter()
            held_seconds = wait_delivered(conn, worker, held_id, events, released, timeout)
            log(f"running worker: all {events} delivered in {held_seconds:.2f} s; stopping it")
        finally:
            worker.stop()
        stored = durability(conn)
        cold_first = db_epoch(
            conn.execute(
                "SELECT min(attempted_on) FROM webhook_attempts WHERE webhook_id = ?", (cold_id,)
            ).fetchone()[0]
        )
    exit_status = worker.proc.returncode
    output = worker.log_tail(10) if worker.log_path.stat().st_size else ""
    if output:
        log(f"the worker wrote (last lines):\n{output}")
    stored.pop("first_attempt_on")
    stored.pop("last_attempt_on")
    startup = cold_first - started_at if cold_first is not None else None
    sending = cold_seconds - startup if startup is not None else None
    return {
        "deliveries": events,
        "seconds": round(held_seconds, 4),
        "rps": round(events / held_seconds, 1),
        "cold": {
            "seconds": round(cold_seconds, 4),
            "rps": round(events / cold_seconds, 1),
            "startup_seconds": round(startup, 3) if startup is not None else None,
            "rps_after_startup": round(events / sending, 1) if sending else None,
            "sink": cold_sink,
        },
        "worker_exit_status": exit_status,
        **stored,
    }


def run_deliveries(name: str, bench: Benchmark, opts: Options) -> dict[str, Any]:
    spec = bench.deliveries
    if spec is None:
        raise BenchError(f"benchmark {name!r} has mode 'deliveries' but no Deliveries spec")
    events, c = opts.events, opts.connections
    with workdir(name) as (tmp, env), contextlib.ExitStack() as stack:
        fixture = create_fixture(env, tmp, bench.api_version)
        database = sqlite_database(tmp)
        sink = stack.enter_context(running("sink", script_argv(spec.sink), env, tmp))
        url = f"http://{HOST}:{sink.port}{bench.path}"

        log(f"queueing {events} events ({spec.batch} per events.emit, a commit each)")
        sample_body = tmp / "sample-body.json"
        queued = bench_script(
            env,
            tmp,
            spec.enqueue,
            *("--data-dir", str(tmp), "--workspace", fixture.workspace_uuid, "--url", url),
            *("--events", str(events), "--batch", str(spec.batch)),
            *("--sample-body", str(sample_body), "--held"),
            timeout=CLI_TIMEOUT + events / 50,
        )
        held = queued.get("held") or {}
        if queued.get("messages") != events or held.get("messages") != events:
            raise BenchError(
                f"bench/{spec.enqueue} queued {queued.get('messages')} + "
                f"{held.get('messages')} messages, not {events} + {events}"
            )
        log(f"queued in {queued['seconds']:.2f} s; envelopes of {queued['body_bytes']} bytes")

        log(f"floor: {events} POSTs with a raw aiohttp loop, {c} at a time")
        sink_stats(sink, reset=True)
        floor = bench_script(
            env,
            tmp,
            spec.floor,
            *("--url", url, "--count", str(events), "--concurrency", str(c)),
            *("--body-file", str(sample_body)),
            timeout=CLI_TIMEOUT + events / 100,
        )
        floor_sink = sink_stats(sink)
        if floor["errors"] > MAX_ERROR_RATE * events:
            sink.fail(f"the floor's POSTs failed: {floor['error_kinds']}; aborting")
        if floor_sink["posts"] != events:
            sink.fail(f"the sink counted {floor_sink['posts']} POSTs from the floor, not {events}")

        sink_stats(sink, reset=True)
        app = deliver_all(env, tmp, database, queued, sink, spec, c)
        app_sink = sink_stats(sink)  # the running-worker phase (reset in between)

    cold_sink = app["cold"].pop("sink")
    posts = cold_sink["posts"] + app_sink["posts"]
    duplicates = posts - 2 * events
    app["errors"] = app["attempts"] - app["attempts_succeeded"]
    durable = (
        app["messages"] == {"delivered": 2 * events}
        and app["attempts"] == posts  # every POST the sink saw has its row
        and app["attempted_messages"] == 2 * events
        and cold_sink["distinct_ids"] == events
        and app_sink["distinct_ids"] == events
    )
    ratio = app["rps"] / floor["rps"] if floor["rps"] else None
    cold = app["cold"]
    cold_ratio = cold["rps"] / floor["rps"] if floor["rps"] else None
    after = cold["rps_after_startup"]
    return {
        "name": name,
        "url": url,
        "events": events,
        "connections": c,
        "body_bytes": queued["body_bytes"],
        "enqueue": {
            key: queued[key] for key in ("events", "batches", "batch", "seconds", "messages")
        },
        "app": app,
        "floor": floor,
        "sink": {
            "app_posts": posts,
            "app_distinct_ids": cold_sink["distinct_ids"] + app_sink["distinct_ids"],
            "duplicates": duplicates,
            "floor_posts": floor_sink["posts"],
            # keep-alive: the running-worker phase reuses the cold phase's connections
            "app_connections": cold_sink["connections"] + app_sink["connections"],
            "floor_connections": floor_sink["connections"],
            "signature_verified": signature_verified(queued["secret"], cold_sink["sample"])
            and signature_verified(queued["held"]["secret"], app_sink["sample"]),
        },
        "ratio": round(ratio, 4) if ratio is not None else None,
        "ratio_cold": round(cold_ratio, 4) if cold_ratio is not None else None,
        "ratio_after_startup": round(after / floor["rps"], 4) if after and floor["rps"] else None,
        "ratio_goal": spec.ratio_goal,
        "pass": {
            "ratio": ratio >= spec.ratio_goal if ratio is not None else None,
            "durable": durable,
        },
    }


def format_deliveries_table(result: dict[str, Any]) -> str:
    app, floor, sink, enq = result["app"], result["floor"], result["sink"], result["enqueue"]
    cold = app["cold"]
    ratio, cold_ratio, after = result["ratio"], result["ratio_cold"], result["ratio_after_startup"]
    rate = enq["events"] / enq["seconds"] if enq["seconds"] else 0.0
    lines = [
        f"benchmark {result['name']}: {result['events']} events, POST {result['url']} "
        f"(loopback sink), {result['connections']} in flight, bodies of "
        f"{result['body_bytes']} bytes",
        f"enqueue (not in the figures below): {enq['batches']} x events.emit of "
        f"{enq['batch']} + commit, 2 webhooks: {enq['seconds']:.2f} s ({rate:.0f} events/s)",
        "",
        TABLE_HEADER.replace(" p99 ms", "seconds"),
        f"{'app':<8} {app['rps']:>10.1f} {app['seconds']:>9.2f} {app['errors']:>7} "
        f"{app['deliveries']:>10}   running worker: enable -> all committed",
        f"{'cold':<8} {cold['rps']:>10.1f} {cold['seconds']:>9.2f} {'':>7} "
        f"{app['deliveries']:>10}   worker process start -> all committed",
        f"{'floor':<8} {floor['rps']:>10.1f} {floor['seconds']:>9.2f} {floor['errors']:>7} "
        f"{floor['posts']:>10}   first POST -> last response",
        "",
        (
            f"ratio (app/floor) req/s: {ratio:.2f}  goal >= {result['ratio_goal']:.2f}: "
            f"{mark(result['pass']['ratio'])}"
            if ratio is not None
            else "ratio: n/a"
        ),
    ]
    if cold_ratio is not None:
        lines.append(
            f"cold start (cold/floor): {cold_ratio:.2f}; worker start -> first attempt "
            + (
                f"{cold['startup_seconds']:.2f} s, then {cold['rps_after_startup']:.1f} "
                f"deliveries/s (ratio {after:.2f})"
                if cold["startup_seconds"] is not None and after is not None
                else "n/a"
            )
        )
    delivered = app["messages"].get("delivered", 0)
    lines += [
        f"durable: {delivered}/{2 * result['events']} messages delivered (both phases), "
        f"{app['attempts']} attempt rows ({app['attempts_succeeded']} succeeded), worker exit "
        f"status {app['worker_exit_status']}: {mark(result['pass']['durable'])}",
        f"sink: {sink['app_posts']} POSTs from the app ({sink['app_distinct_ids']} distinct "
        f"webhook-ids, {sink['duplicates']} duplicates) over {sink['app_connections']} "
        f"connections, {sink['floor_posts']} from the floor over {sink['floor_connections']}; "
        "signatures of a sample per phase "
        + ("verified" if sink["signature_verified"] else "NOT verified"),
    ]
    return "\n".join(lines)


Runner = Callable[[str, Benchmark, Options], dict[str, Any]]
Formatter = Callable[[dict[str, Any]], str]
RUNNERS: dict[str, tuple[Runner, Formatter]] = {
    "floor": (run_floor_comparison, format_floor_table),
    "ratelimit": (run_ratelimit, format_ratelimit_table),
    "pages": (run_pages, format_pages_table),
    "deliveries": (run_deliveries, format_deliveries_table),
}


# ------------------------------------------------------------------------------------ cli


def list_benchmarks() -> str:
    width = max(map(len, BENCHMARKS))
    rows = [f"  {name:<{width}}  {bench.description}" for name, bench in BENCHMARKS.items()]
    return "available benchmarks:\n" + "\n".join(rows)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark relaydesk against a reference measured in the same run.",
        epilog=list_benchmarks() + "\n\nBENCH_NO_WRK=1 forces the asyncio load generator.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="benchmark to run")
    parser.add_argument(
        "--duration", type=positive_int, default=10, metavar="SECONDS", help="default: 10"
    )
    parser.add_argument("--connections", type=positive_int, default=32, metavar="N")
    parser.add_argument(
        "--warmup", type=non_negative_int, default=2, metavar="SECONDS", help="default: 2"
    )
    parser.add_argument(
        "--page-size",
        type=positive_int,
        default=50,
        metavar="N",
        help="rows per page for list benchmarks (contacts); default: 50",
    )
    parser.add_argument(
        "--events",
        type=positive_int,
        default=20_000,
        metavar="N",
        help="events to deliver (webhooks; --duration and --warmup do not apply); default: 20000",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    # Floor against floor (no relaydesk needed): checks the harness; the ratio should be ~1.
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _terminate(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bench = BENCHMARKS.get(args.name or "")
    if bench is None:
        if args.name:
            print(f"bench: unknown benchmark {args.name!r}", file=sys.stderr)
        print(list_benchmarks(), file=sys.stderr)
        return 2
    if args.self_test and bench.mode != "floor":
        print("bench: --self-test only applies to mode 'floor' (workspace)", file=sys.stderr)
        return 2
    floor_needs = {"pages": ("aiosqlite", "orjson"), "deliveries": ("aiohttp",)}.get(bench.mode, ())
    for module in ("uvicorn", "starlette", *floor_needs):
        if not _importable(module):
            log(f"{module} is not importable by {sys.executable}; use the project's virtualenv")
            return 1
    signal.signal(signal.SIGTERM, _terminate)
    opts = Options(
        args.duration, args.connections, args.warmup, args.self_test, args.page_size, args.events
    )
    run, format_table = RUNNERS[bench.mode]
    try:
        result = run(args.name, bench, opts)
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())
