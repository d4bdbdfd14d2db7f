"""``relaydesk`` starts fast: importing the CLI (done by every command, the webhook worker
included) loads none of the commands' services, no SQLAlchemy, no Alembic, no rich; the worker
loads only what delivering needs and skips Alembic when the database is up to date.

Each check runs in a fresh interpreter (this one has imported everything already) and looks at
``sys.modules``: a module-level import put back in ``relaydesk.cli`` makes it fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from relaydesk.cli.main import RoleChoice
from relaydesk.models import Role

# Never needed to register the commands (nor for ``--help``).
NOT_AT_IMPORT = (
    "relaydesk.domains",
    "relaydesk.platform",
    "relaydesk.infra",
    "relaydesk.models",
    "relaydesk.db",
    "sqlalchemy",
    "alembic",
    "aiohttp",
    "rich",
)
# Never needed by the running worker (other commands' services; Alembic when at head).
NOT_IN_WORKER = (
    "relaydesk.domains",
    "relaydesk.platform.tokens",
    "relaydesk.platform.webhooks.service",
    "alembic",
    "rich.table",
)

_LIST_MODULES = (
    "import json, sys; print('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr)"
)


def _python(repo_root: Path, code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter; the modules it had loaded when it printed them."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **(env or {}), "PYTHONPATH": str(repo_root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES="))
    modules: list[str] = json.loads(line.removeprefix("MODULES="))
    return modules


def _loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)]


def test_importing_the_cli_loads_no_command_dependencies(repo_root: Path) -> None:
    modules = _python(repo_root, f"import relaydesk.cli.main\n{_LIST_MODULES}")
    assert "relaydesk.cli.main" in modules
    assert _loaded(modules, NOT_AT_IMPORT) == []


def test_worker_help_loads_no_command_dependencies(repo_root: Path) -> None:
    code = (
        "import sys\n"
        "sys.argv = ['relaydesk', 'worker', '--help']\n"
        "from relaydesk.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"{_LIST_MODULES}"
    )
    modules = _python(repo_root, code)
    # rich renders Typer's help; the rest is not needed to describe a command
    assert _loaded(modules, tuple(p for p in NOT_AT_IMPORT if p != "rich")) == []


def test_worker_at_head_loads_only_what_it_delivers_with(
    repo_root: Path, database_url: str, tmp_path: Path
) -> None:
    """The worker against an up-to-date database (SQLite and PostgreSQL: ``database_url``), up
    to its main loop: ``Dispatcher.run``, replaced by one that lists the modules and returns,
    so the worker stops."""
    code = (
        "import json, sys\n"
        "from relaydesk.platform.webhooks.dispatcher import Dispatcher\n"
        "async def run(self):\n"
        f"    {_LIST_MODULES}\n"
        "Dispatcher.run = run\n"
        "sys.argv = ['relaydesk', 'worker']\n"
        "from relaydesk.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
    )
    env = {
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_DATA_DIR": str(tmp_path),
        "RELAYDESK_LOG_LEVEL": "warning",
    }
    modules = _python(repo_root, code, env)
    assert "relaydesk.platform.webhooks.dispatcher" in modules
    assert _loaded(modules, NOT_IN_WORKER) == []


def test_role_choice_is_the_models_role() -> None:
    """``user create --role`` offers the model's roles without importing the models."""
    assert [(c.name.upper(), c.value) for c in RoleChoice] == [(r.name, r.value) for r in Role]
