"""The appeal's projected status knows its handling round (a redo starts a new one).

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
    op.add_column(
        "appeals", sa.Column("status_round", sa.Integer, nullable=False, server_default="1")
    )


def downgrade() -> None:
    op.drop_column("appeals", "status_round")
