"""The working-day calendar's published versions, and which open work orders have
provisional deadlines.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_versions",
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("stream_id", sa.Uuid, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("holidays", ARRAY(sa.Date), nullable=False),
        sa.Column("workdays", ARRAY(sa.Date), nullable=False),
        sa.Column("note", sa.String(4000)),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column(
        "work_orders",
        sa.Column("provisional_years", ARRAY(sa.Integer), nullable=False, server_default="{}"),
    )
    op.create_index(
        "ix_work_orders_provisional",
        "work_orders",
        ["provisional_years"],
        postgresql_using="gin",
        postgresql_where=sa.text("stage <> 'closed' AND cardinality(provisional_years) > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_provisional", table_name="work_orders")
    op.drop_column("work_orders", "provisional_years")
    op.drop_table("calendar_versions")
