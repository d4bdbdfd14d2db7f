"""chats: visitors, chats, chat tags and messages

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relaydesk.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = relaydesk.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("created_on", UTC(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_visitors_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_visitors_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_visitors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitors")),
        sa.UniqueConstraint("uuid", name=op.f("uq_visitors_uuid")),
    )
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visitors_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visitors_property_id"), ["property_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_visitors_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column("visitor_token_hash", sa.String(length=64), nullable=False),
        sa.Column("started_on", UTC(timezone=True), nullable=False),
        sa.Column("first_response_on", UTC(timezone=True), nullable=True),
        sa.Column("ended_on", UTC(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_chats_agent_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_chats_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_chats_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_chats_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_chats_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
        sa.UniqueConstraint("uuid", name=op.f("uq_chats_uuid")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chats_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chats_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chats_property_id"), ["property_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chats_visitor_id"), ["visitor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chats_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index(
            "ix_chats_workspace_started", ["workspace_id", "started_on", "id"], unique=False
        )

    op.create_table(
        "chat_tags",
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_chat_tags_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chat_id", "name", name=op.f("pk_chat_tags")),
    )
    with op.batch_alter_table("chat_tags", schema=None) as batch_op:
        batch_op.create_index("ix_chat_tags_name", ["name"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_on", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_chat_messages_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_messages_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("uuid", name=op.f("uq_chat_messages_uuid")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_messages_chat", ["chat_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_chat")
    op.drop_table("chat_messages")
    with op.batch_alter_table("chat_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_tags_name")
    op.drop_table("chat_tags")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_workspace_started")
        batch_op.drop_index(batch_op.f("ix_chats_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_chats_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_chats_property_id"))
        batch_op.drop_index(batch_op.f("ix_chats_department_id"))
        batch_op.drop_index(batch_op.f("ix_chats_agent_id"))
    op.drop_table("chats")
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitors_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_visitors_property_id"))
        batch_op.drop_index(batch_op.f("ix_visitors_contact_id"))
    op.drop_table("visitors")
