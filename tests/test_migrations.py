"""The Alembic migrations produce exactly the models' schema, on both databases."""

from __future__ import annotations

import threading
import warnings

import pytest
from alembic import command

from relaydesk.db.migrate import alembic_config


def test_models_match_migrations(database_url: str) -> None:
    errors: list[BaseException] = []

    def check() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # expression indexes can't be reflected/compared
            try:
                command.check(alembic_config(database_url))
            except BaseException as exc:
                errors.append(exc)

    thread = threading.Thread(target=check)  # Alembic's env runs its own event loop
    thread.start()
    thread.join()
    if errors:
        pytest.fail(f"models and migrations differ: {errors[0]}")
