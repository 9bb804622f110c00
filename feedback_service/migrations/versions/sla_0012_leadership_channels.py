"""Each department's leadership channel, where escalations are notified.

Revision ID: sla_0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "sla_0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leadership_channels",
        sa.Column("department", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leadership_channels")
