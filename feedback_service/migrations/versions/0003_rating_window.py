"""Holders carry the open rating window, so a timer can record "not rated" when it closes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("holders", sa.Column("rating_round", sa.Integer))
    op.add_column("holders", sa.Column("rating_closes_at", sa.DateTime(timezone=True)))
    op.create_index("ix_holders_rating_closes_at", "holders", ["rating_closes_at"])


def downgrade() -> None:
    op.drop_index("ix_holders_rating_closes_at", table_name="holders")
    op.drop_column("holders", "rating_closes_at")
    op.drop_column("holders", "rating_round")
