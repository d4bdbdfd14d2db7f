"""docs/rpc.md is generated from the registry: regenerating it changes nothing."""

from __future__ import annotations

from pathlib import Path

from relaydesk.domains.rpc import registry
from relaydesk.infra.http.rpc_docs import ERROR_CODES, markdown


def test_docs_are_up_to_date(repo_root: Path) -> None:
    committed = (repo_root / "docs" / "rpc.md").read_text(encoding="utf-8")
    assert committed == markdown(registry), (
        "docs/rpc.md is out of date: run python scripts/gen_rpc_docs.py"
    )


def test_docs_cover_every_method_and_error() -> None:
    text = markdown(registry)
    for method in registry:
        assert f"### {method.name}\n" in text
        assert f'"$HOST/api/rpc/{method.name}"' in text
    for code, status, _ in ERROR_CODES:
        assert f"| `{code}` | {status} |" in text
    assert "Basic" in text
    assert "Bearer" in text
