"""The working-day calendar's versions, learnt from dispatch's `calendar.published` facts,
so callbacks fall due on the same calendar as dispatch's deadlines.

Revision ID: 0010
Revises: 0009_positions
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0010"
down_revision = "0009_positions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_versions",
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("holidays", ARRAY(sa.Date), nullable=False),
        sa.Column("workdays", ARRAY(sa.Date), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_versions")
