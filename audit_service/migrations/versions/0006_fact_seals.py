"""Each fact's record time and place sealed with audit's HMAC key (domain/records.py).

Rows recorded before have no seal and read as unproven until a replay's switch-over
rewrites them from the log.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("facts", sa.Column("seal", sa.String(64)))


def downgrade() -> None:
    op.drop_column("facts", "seal")
