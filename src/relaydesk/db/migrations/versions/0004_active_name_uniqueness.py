"""unique active names (groups, labels) and keys (globals) per workspace

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("uq_contact_groups_active_name", "contact_groups", ["workspace_id", "lower(name)"]),
    ("uq_labels_active_name", "labels", ["workspace_id", "lower(name)"]),
    ("uq_globals_active_key", "globals", ["workspace_id", "key"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(
            name,
            table,
            [sa.text(c) for c in columns],
            unique=True,
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
