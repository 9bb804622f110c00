"""Holders know the handling round and whether the department has signed for it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("holders", sa.Column("round", sa.Integer, nullable=False, server_default="1"))
    op.add_column(
        "holders", sa.Column("signed_for", sa.Boolean, nullable=False, server_default="false")
    )


def downgrade() -> None:
    op.drop_column("holders", "signed_for")
    op.drop_column("holders", "round")
