"""Rating links issued to citizens, each usable once.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating_links",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("appeal_id", sa.Uuid, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("rated_event_id", sa.Uuid),
    )
    op.create_index("ix_rating_links_appeal_id", "rating_links", ["appeal_id"])


def downgrade() -> None:
    op.drop_index("ix_rating_links_appeal_id", table_name="rating_links")
    op.drop_table("rating_links")
