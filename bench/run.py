"""Benchmark harness: the real relaydesk server under load, measured against a reference in the
same run.

Usage::

    python bench/run.py NAME [--duration SECONDS] [--connections N] [--warmup SECONDS] [--json]
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

Two kinds of benchmark:

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

Servers are always stopped (SIGTERM, SIGKILL after 5 s) and the temp dir removed.

Load generator: ``wrk`` if it is on PATH, else a pure-asyncio client (bench/loadgen.py).
Environment: ``BENCH_NO_WRK=1`` forces the asyncio client even when wrk is installed.

Exit status: 0 success, 1 failure (setup, server, or more than 1 % errors), 2 usage error,
130 interrupted (Ctrl-C), 143 SIGTERM. Progress messages always go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast

import loadgen
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
class Benchmark:
    path: str
    headers: Callable[[Fixture], dict[str, str]]
    description: str
    # floor: app vs a bare Starlette app; ratelimit: limiter off vs memory vs Redis backend.
    mode: Literal["floor", "ratelimit"] = "floor"
    api_version: Literal["v2", "v3"] = "v2"  # of the company token the fixture creates


def token_auth(fixture: Fixture) -> dict[str, str]:
    return {"Authorization": f"Token {fixture.token}"}


def bearer_auth(fixture: Fixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {fixture.token}"}


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


def relaydesk_cli(env: Mapping[str, str], cwd: Path, *args: str) -> str:
    argv = [sys.executable, "-m", "relaydesk", *args]
    shown = "relaydesk " + " ".join(args)
    try:
        proc = subprocess.run(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`{shown}` did not finish within {CLI_TIMEOUT:.0f} s") from exc
    if proc.returncode != 0:
        raise BenchError(
            f"`{shown}` failed with exit status {proc.returncode}:\n{proc.stderr}{proc.stdout}"
        )
    return proc.stdout


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


def floor_argv(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "floor_app:app", "--app-dir", str(BENCH_DIR)),
        *("--host", HOST, "--port", str(port), "--workers", "1"),
        *("--log-level", "warning", "--no-access-log", "--loop", "auto", "--http", "auto"),
    ]


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


def measure(
    server: Server, bench: Benchmark, headers: Mapping[str, str], opts: Options
) -> LoadResult:
    log(
        f"loading {server.label}: {opts.warmup} s warm-up + {opts.duration} s, "
        f"{opts.connections} connections"
    )
    try:
        result = loadgen.run_load(
            server.port,
            bench.path,
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
        "ratio": round(app_result.rps / floor_result.rps, 4) if floor_result.rps else None,
        "p99_ratio": round(app_result.p99_ms / floor_result.p99_ms, 4)
        if floor_result.p99_ms
        else None,
    }


def format_floor_table(result: dict[str, Any]) -> str:
    lines = [
        run_header(result) + (" [SELF-TEST: floor vs floor]" if result["self_test"] else ""),
        "",
        TABLE_HEADER,
    ]
    lines += [table_row(target, result[target]) for target in ("app", "floor")]
    ratio, p99_ratio = result["ratio"], result["p99_ratio"]
    lines += [
        "",
        f"ratio (app/floor) req/s: {ratio:.2f}" if ratio is not None else "ratio: n/a",
        f"ratio (app/floor) p99:   {p99_ratio:.2f}" if p99_ratio is not None else "p99: n/a",
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


Runner = Callable[[str, Benchmark, Options], dict[str, Any]]
Formatter = Callable[[dict[str, Any]], str]
RUNNERS: dict[str, tuple[Runner, Formatter]] = {
    "floor": (run_floor_comparison, format_floor_table),
    "ratelimit": (run_ratelimit, format_ratelimit_table),
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
        print("bench: --self-test only applies to app-vs-floor benchmarks", file=sys.stderr)
        return 2
    for module in ("uvicorn", "starlette"):
        if not _importable(module):
            log(f"{module} is not importable by {sys.executable}; use the project's virtualenv")
            return 1
    signal.signal(signal.SIGTERM, _terminate)
    opts = Options(args.duration, args.connections, args.warmup, args.self_test)
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
