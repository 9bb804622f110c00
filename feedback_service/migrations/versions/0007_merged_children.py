"""Repeat appeals merged into a parent: called back on the parent's approved reply.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merged_children",
        sa.Column("child_id", sa.Uuid, primary_key=True),
        sa.Column("parent_id", sa.Uuid, nullable=False),
    )
    op.create_index("ix_merged_children_parent_id", "merged_children", ["parent_id"])


def downgrade() -> None:
    op.drop_table("merged_children")
