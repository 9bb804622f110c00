"""An index on facts' time: a month's measures read only the appeals active in it.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_facts_time", "facts", ["time"])


def downgrade() -> None:
    op.drop_index("ix_facts_time", table_name="facts")
