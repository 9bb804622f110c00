"""Notifications: who filed each appeal, partners' subscriptions, and webhook deliveries.

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
    op.create_table(
        "appeals",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("filed_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("citizen_phone", sa.String(30)),
        sa.Column("extension_reason", sa.Text),
    )
    op.create_index("ix_appeals_filed_by", "appeals", ["filed_by"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("filer", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscriptions_filer", "subscriptions", ["filer"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("subscription_id", sa.Uuid),
        sa.Column("channel", sa.String(30)),
        sa.Column("appeal_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("subscription_id", "event_id", "kind", name="uq_deliveries_once"),
    )
    op.create_index("ix_deliveries_appeal_id", "deliveries", ["appeal_id"])
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
    op.drop_table("appeals")
