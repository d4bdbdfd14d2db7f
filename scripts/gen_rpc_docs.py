"""Write docs/rpc.md from the RPC method registry.

``python scripts/gen_rpc_docs.py`` regenerates it (run it after adding or changing a method);
``--check`` exits 1 when the committed file differs. ``tests/rpc/test_docs.py`` does the same
check, so the docs and the methods can't drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from relaydesk.domains.rpc import registry
from relaydesk.infra.http.rpc_docs import markdown

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rpc.md"


def main(argv: list[str]) -> int:
    text = markdown(registry)
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python scripts/gen_rpc_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
