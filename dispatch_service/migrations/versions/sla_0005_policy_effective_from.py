"""SLA policy versions take effect from a moment, not from their publication: existing
versions keep what they meant (in force from publication), and the first one governs
everything received before it.

Revision ID: sla_0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "sla_0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sla_policies", sa.Column("effective_from", sa.DateTime(timezone=True)))
    op.execute("UPDATE sla_policies SET effective_from = published_at")
    op.execute(
        "UPDATE sla_policies SET effective_from = '1970-01-01T00:00:00+00:00' "
        "WHERE version = (SELECT min(version) FROM sla_policies)"
    )
    op.alter_column("sla_policies", "effective_from", nullable=False)


def downgrade() -> None:
    op.drop_column("sla_policies", "effective_from")
