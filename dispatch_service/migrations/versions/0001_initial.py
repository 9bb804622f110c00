"""Runtime tables, departments, versioned routing and the work-order view.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime.schema import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(64)),
    )
    op.create_table(
        "routing_versions",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("fallback_department", sa.String(64), nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "routing_rules",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64)),
        sa.Column("department", sa.String(64), nullable=False),
    )
    op.create_table(
        "work_orders",
        sa.Column("appeal_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("work_orders", "routing_rules", "routing_versions", "departments"):
        op.drop_table(table)
    drop_runtime_tables(op)
