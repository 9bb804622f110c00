"""Runtime tables and the holders view of dispatch's assignments.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime.schema import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "holders",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("assigned_event_id", sa.Uuid, nullable=False),
        sa.Column("correlation_id", sa.Uuid, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("holders")
    drop_runtime_tables(op)
