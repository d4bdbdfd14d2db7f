"""properties, departments, members and invitations

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 20:44:11.295702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relaydesk.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("website", sa.String(length=255), nullable=True),
        sa.Column("widget", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_properties_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_properties_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_properties")),
        sa.UniqueConstraint("uuid", name=op.f("uq_properties_uuid")),
    )
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_properties_workspace_created", ["workspace_id", "created_on", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_properties_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_departments_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("uuid", name=op.f("uq_departments_uuid")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departments_property_id"), ["property_id"], unique=False
        )
    op.create_index(
        "uq_departments_property_name",
        "departments",
        [sa.text("property_id"), sa.text("lower(name)")],
        unique=True,
    )

    op.create_table(
        "property_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_property_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_property_invitations_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_property_invitations_token_hash")),
        sa.UniqueConstraint("uuid", name=op.f("uq_property_invitations_uuid")),
    )
    with op.batch_alter_table("property_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_property_invitations_property_id"), ["property_id"], unique=False
        )

    op.create_table(
        "property_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_on", relaydesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_property_members_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_property_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_members")),
        sa.UniqueConstraint("property_id", "user_id", name=op.f("uq_property_members_property_id")),
    )
    with op.batch_alter_table("property_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_property_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "property_member_departments",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_property_member_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["property_members.id"],
            name=op.f("fk_property_member_departments_member_id_property_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "department_id", name=op.f("pk_property_member_departments")
        ),
    )
    with op.batch_alter_table("property_member_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_property_member_departments_department_id"),
            ["department_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("property_member_departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_property_member_departments_department_id"))

    op.drop_table("property_member_departments")
    with op.batch_alter_table("property_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_property_members_user_id"))

    op.drop_table("property_members")
    with op.batch_alter_table("property_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_property_invitations_property_id"))

    op.drop_table("property_invitations")
    op.drop_index("uq_departments_property_name", table_name="departments")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_property_id"))

    op.drop_table("departments")
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_properties_workspace_id"))
        batch_op.drop_index("ix_properties_workspace_created")

    op.drop_table("properties")
