"""The work order's workflow: SLA policies, assisting departments in routing, and a richer
work-order view (deadlines, round, timer index, folded state).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("document", JSONB, nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column(
        "routing_rules",
        sa.Column("assisting", ARRAY(sa.String(64)), nullable=False, server_default="{}"),
    )
    # The view is rebuilt from the event store; its old shape cannot hold deadlines.
    op.drop_table("work_orders")
    op.create_table(
        "work_orders",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("district", sa.String(64)),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sign_for_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handle_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_round", sa.Integer, nullable=False, server_default="0"),
        sa.Column("overdue", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("next_signal_at", sa.DateTime(timezone=True), index=True),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_work_orders_updated", "work_orders", ["updated_at", "appeal_id"])


def downgrade() -> None:
    op.drop_table("work_orders")
    op.create_table(
        "work_orders",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.drop_column("routing_rules", "assisting")
    op.drop_table("sla_policies")
