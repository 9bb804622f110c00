"""Runtime tables and the appeals read model.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.schema import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("appeal_type", sa.String(20), nullable=False),
        sa.Column("category", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(64), index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received", JSONB, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appeals")
    drop_runtime_tables(op)
