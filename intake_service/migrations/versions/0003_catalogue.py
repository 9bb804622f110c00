"""The versioned appeal catalogue, and what a channel carried beyond the fact.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_versions",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("document", JSONB, nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column("appeals", sa.Column("extras", JSONB))
    op.create_index("ix_appeals_received_at", "appeals", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_appeals_received_at", "appeals")
    op.drop_column("appeals", "extras")
    op.drop_table("catalogue_versions")
