"""RELAYDESK_SECRET_KEY: used when set; else generated once into DATA_DIR/secret_key."""

from __future__ import annotations

import stat
from pathlib import Path

from relaydesk import config
from relaydesk.config import Settings


def test_generated_secret_is_stored_and_stable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Settings(data_dir=data).effective_secret_key()
    assert len(first) >= 32
    path = data / "secret_key"
    assert path.read_text().strip().encode() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == ["secret_key"]  # no temporary file left
    # another process (a fresh cache) reads the same one
    config._stored_secret.cache_clear()
    assert Settings(data_dir=data).effective_secret_key() == first


def test_configured_secret_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="s3cret-from-env")
    assert settings.effective_secret_key() == b"s3cret-from-env"
    assert not (tmp_path / "secret_key").exists()
