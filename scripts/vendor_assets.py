"""Vendor the browser assets the server pages use (no CDN at run time).

``python scripts/vendor_assets.py`` npm-installs the pinned packages below into a temporary
directory, copies only the files the pages load (plus each package's licence) into
``src/relaydesk/static/vendor/<package>/`` and writes ``src/relaydesk/static/vendor/MANIFEST.json``
(package, version, license, file, sha256 per file). ``tests/test_vendored_assets.py`` checks
the manifest against the files. To upgrade: change a pin, run the script, commit the result.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "src" / "relaydesk" / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"
# a trailing ``sourceMappingURL`` comment: the .map is not vendored (it would be a 404)
SOURCE_MAP = re.compile(rb"\n?/[*/]# sourceMappingURL=[^\n]*\s*$")

# package → (pinned version, files to copy from the installed package)
PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "swagger-ui-dist": (
        "5.35.0",
        (
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "LICENSE",
        ),
    ),
    "htmx.org": ("2.0.11", ("dist/htmx.min.js", "LICENSE")),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(workdir: Path) -> Path:
    """``npm install`` the pinned packages (no scripts, no lockfile) into ``workdir``."""
    (workdir / "package.json").write_text('{"private": true}\n')
    specs = [f"{name}@{version}" for name, (version, _) in PACKAGES.items()]
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed")
    subprocess.run(  # noqa: S603 (fixed arguments: the pins above)
        [
            npm,
            "install",
            "--no-save",
            "--no-package-lock",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            *specs,
        ],
        cwd=workdir,
        check=True,
    )
    return workdir / "node_modules"


def vendor(node_modules: Path) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for name, (version, files) in PACKAGES.items():
        source = node_modules / name
        meta = json.loads((source / "package.json").read_text())
        if meta["version"] != version:
            raise SystemExit(f"{name}: npm installed {meta['version']}, pinned {version}")
        target = VENDOR / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for file in files:
            copied = target / Path(file).name  # flat: vendor/<package>/<file name>
            shutil.copyfile(source / file, copied)
            if copied.suffix in (".js", ".css"):
                copied.write_bytes(SOURCE_MAP.sub(b"\n", copied.read_bytes()))
            entries.append(
                {
                    "package": name,
                    "version": version,
                    "license": str(meta.get("license", "")),
                    "file": copied.relative_to(VENDOR).as_posix(),
                    "sha256": sha256(copied),
                }
            )
    return entries


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="relaydesk-vendor-") as tmp:
        entries = vendor(install(Path(tmp)))
    MANIFEST.write_text(json.dumps(entries, indent=2) + "\n")
    for entry in entries:
        size = (VENDOR / entry["file"]).stat().st_size
        sys.stdout.write(f"{entry['file']:<50} {size:>9} bytes  {entry['version']}\n")


if __name__ == "__main__":
    main()
