"""Browser assets ship with the package (``scripts/vendor_assets.py``), never from a CDN:
the manifest matches the vendored files byte for byte, no page loads a script or stylesheet
from another host, and the packaging includes templates and static files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from relaydesk.infra.http.docs import templates

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "relaydesk"
STATIC = PACKAGE / "static"
VENDOR = STATIC / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"

EXTERNAL = r"""["']?\s*(?:https?:)?//"""  # http://, https:// or protocol-relative //host
# markup that loads a script or stylesheet (or a preloaded/imported one) from a URL
LOADERS = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*" + EXTERNAL, re.I),
    re.compile(
        r"<link\b(?=[^>]*\brel\s*=\s*[\"']?[^\"'>]*\b(?:stylesheet|preload|modulepreload|import)"
        r"\b)[^>]*\bhref\s*=\s*" + EXTERNAL,
        re.I,
    ),
    re.compile(r"@import\s+(?:url\(\s*)?" + EXTERNAL, re.I),  # CSS
    re.compile(r"url\(\s*" + EXTERNAL, re.I),  # CSS: fonts, images
    re.compile(r"\bimport\s*(?:\(|[^;'\"]*\bfrom\s*)\s*" + EXTERNAL),  # JS modules
    re.compile(r"\.src\s*=\s*" + EXTERNAL),  # JS: script.src = "https://…"
]
ASSET = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', re.I)


def manifest() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = json.loads(MANIFEST.read_text())
    return entries


def vendor_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vendor_assets", ROOT / "scripts" / "vendor_assets.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_matches_the_vendored_files() -> None:
    entries = manifest()
    assert entries
    for entry in entries:
        assert set(entry) == {"package", "version", "license", "file", "sha256"}
        path = VENDOR / entry["file"]
        assert path.is_file(), entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], entry["file"]
        assert entry["file"].startswith(entry["package"] + "/")
        assert entry["license"]
    listed = {entry["file"] for entry in entries}
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {
        "MANIFEST.json"
    }
    assert present == listed  # nothing vendored without a manifest line


def test_manifest_matches_the_pins() -> None:
    pins: dict[str, tuple[str, tuple[str, ...]]] = vendor_script().PACKAGES
    by_package: dict[str, set[str]] = {}
    for entry in manifest():
        assert entry["version"] == pins[entry["package"]][0], entry
        by_package.setdefault(entry["package"], set()).add(entry["file"])
    for package, (_, files) in pins.items():
        assert by_package[package] == {f"{package}/{Path(f).name}" for f in files}
        assert f"{package}/LICENSE" in by_package[package]  # the licence ships with the code


@pytest.mark.parametrize(
    "file",
    [
        "swagger-ui-dist/swagger-ui-bundle.js",
        "swagger-ui-dist/swagger-ui.css",
        "htmx.org/htmx.min.js",
    ],
)
def test_expected_assets_are_vendored(file: str) -> None:
    assert (VENDOR / file).stat().st_size > 10_000
    assert "sourceMappingURL" not in (VENDOR / file).read_text()[-300:]  # no .map 404


def _own_files() -> list[Path]:
    roots = [PACKAGE / "templates", STATIC]
    return sorted(
        p
        for root in roots
        for p in root.rglob("*")
        if p.is_file() and VENDOR not in p.parents and p.suffix in {".html", ".js", ".css"}
    )


def test_no_page_loads_assets_from_another_host() -> None:
    files = _own_files()
    assert any(p.name == "docs.html" for p in files)
    offenders: list[str] = []
    for path in files:
        text = path.read_text()
        for pattern in LOADERS:
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(PACKAGE)}: {match.group(0)}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example/x.js"></script>',
        "<script defer src='//cdn.example/x.js'></script>",
        '<link rel="stylesheet" href="https://cdn.example/x.css">',
        '<link href="http://cdn.example/x.css" rel="stylesheet">',
        "@import url('https://fonts.example/css');",
        "src: url(https://fonts.example/font.woff2);",
        'import x from "https://esm.example/x.js";',
    ],
)
def test_the_check_catches_cdn_loads(snippet: str) -> None:
    assert any(pattern.search(snippet) for pattern in LOADERS)


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="https://docs.example/guide">a guide for humans</a>',
        '<link rel="canonical" href="https://relaydesk.example/docs">',
        '<script src="/static/docs.js"></script>',
    ],
)
def test_the_check_allows_links_for_humans(snippet: str) -> None:
    assert not any(pattern.search(snippet) for pattern in LOADERS)


def test_docs_page_references_only_static_assets() -> None:
    html = templates.get_template("docs.html").render(base_url="https://api.example")
    assets = ASSET.findall(html)
    assert assets
    assert all(src.startswith("/static/") for src in assets), assets
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in assets


def test_package_data_ships_templates_and_static_files() -> None:
    pyproject: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["relaydesk"]
    assert "templates/**/*" in data
    assert "static/**/*" in data
