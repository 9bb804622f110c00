"""The callbacks due: rounds whose approved reply awaits a callback that reaches the citizen.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks_due",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_callbacks_due_due_at", "callbacks_due", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_due_due_at", table_name="callbacks_due")
    op.drop_table("callbacks_due")
