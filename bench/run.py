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
from typing import Any, NoReturn

import loadgen
from loadgen import HOST, LoadResult

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


def token_auth(fixture: Fixture) -> dict[str, str]:
    return {"Authorization": f"Token {fixture.token}"}


# Adding a benchmark = one entry here (the path must answer 200 to a GET with those headers).
BENCHMARKS: dict[str, Benchmark] = {
    "workspace": Benchmark(
        path="/api/v2/workspace.json",
        headers=token_auth,
        description="GET /api/v2/workspace.json with a company token (auth + lookup + JSON)",
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


def http_get(port: int, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=dict(headers))
    try:
        with _HTTP.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


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


def relaydesk_json(env: Mapping[str, str], cwd: Path, *args: str, key: str) -> str:
    out = relaydesk_cli(env, cwd, *args)
    try:
        value = parse_json_object(out)[key]
    except (ValueError, KeyError) as exc:
        raise BenchError(f"`relaydesk {' '.join(args)}`: no {key!r} in its output:\n{out}") from exc
    return str(value)


def create_fixture(env: Mapping[str, str], cwd: Path) -> Fixture:
    email = "bench@example.com"
    log("relaydesk migrate")
    relaydesk_cli(env, cwd, "migrate")
    log("creating workspace, user and company token")
    uuid = relaydesk_json(env, cwd, "workspace", "create", "Bench", "--json", key="uuid")
    relaydesk_cli(
        env, cwd, "user", "create", email, "--workspace", uuid, "--role", "administrator", "--json"
    )
    token = relaydesk_json(
        env,
        cwd,
        *("token", "create", "--workspace", uuid, "--user", email, "--kind", "company", "--json"),
        key="token",
    )
    return Fixture(workspace_uuid=uuid, user_email=email, token=token)


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
                status, _ = http_get(self.port, "/healthz", {})
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
    label: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, port: int
) -> Iterator[Server]:
    log(f"starting {label} on http://{HOST}:{port}")
    server = Server(label, argv, env, cwd, port)
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


def preflight(server: Server, path: str, headers: Mapping[str, str]) -> bytes:
    """One request before loading: it must answer 200. Returns the body."""
    try:
        status, body = http_get(server.port, path, headers)
    except OSError as exc:
        server.fail(f"GET {path} failed: {exc}")
    if status != 200:
        server.fail(f"GET {path} answered {status} instead of 200: {body[:500]!r}")
    return body


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


def run_benchmark(name: str, bench: Benchmark, opts: Options) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"relaydesk-bench-{name}-"))
    try:
        env = base_env(tmp)
        with contextlib.ExitStack() as stack:
            if opts.self_test:
                log("self-test: the floor app stands in for relaydesk")
                fixture = Fixture("self-test", "bench@example.com", "self-test-token")
                port = free_port()
                app_cmd = floor_argv(port)
                app_env = floor_env(env, bench.path, None)
            else:
                fixture = create_fixture(env, tmp)
                port = free_port()
                app_cmd, app_env = app_argv(port), env
            headers = bench.headers(fixture)
            app = stack.enter_context(running("app", app_cmd, app_env, tmp, port))
            body = preflight(app, bench.path, headers)

            port = free_port()
            floor_cmd, env_for_floor = floor_argv(port), floor_env(env, bench.path, body)
            floor = stack.enter_context(running("floor", floor_cmd, env_for_floor, tmp, port))
            floor_body = preflight(floor, bench.path, headers)

            app_result = measure(app, bench, headers, opts)
            floor_result = measure(floor, bench, headers, opts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

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


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"benchmark {result['name']}: GET {result['path']}, {result['connections']} connections, "
        f"{result['duration']} s (after {result['warmup']} s warm-up), load: {result['loadgen']}"
        + (" [SELF-TEST: floor vs floor]" if result["self_test"] else ""),
        "",
        f"{'target':<8} {'req/s':>10} {'p99 ms':>9} {'errors':>7} {'requests':>10}",
    ]
    for target in ("app", "floor"):
        row = result[target]
        lines.append(
            f"{target:<8} {row['rps']:>10.1f} {row['p99_ms']:>9.2f} {row['errors']:>7} "
            f"{row['requests']:>10}"
        )
    ratio, p99_ratio = result["ratio"], result["p99_ratio"]
    lines += [
        "",
        f"ratio (app/floor) req/s: {ratio:.2f}" if ratio is not None else "ratio: n/a",
        f"ratio (app/floor) p99:   {p99_ratio:.2f}" if p99_ratio is not None else "p99: n/a",
    ]
    return "\n".join(lines)


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
        description="Benchmark relaydesk against a bare Starlette floor measured in the same run.",
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
    for module in ("uvicorn", "starlette"):
        if not _importable(module):
            log(f"{module} is not importable by {sys.executable}; use the project's virtualenv")
            return 1
    signal.signal(signal.SIGTERM, _terminate)
    opts = Options(args.duration, args.connections, args.warmup, args.self_test)
    try:
        result = run_benchmark(args.name, bench, opts)
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
