"""KPI rules as versioned data, seeded with the rule the measures always applied; and the
record of every replay switch-over with the rows it changed. All three are history: the
runtime role may only add to them.

Revision ID: 0007_rules
Revises: 0006
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime import roles

revision = "0007_rules"
down_revision = "0006"
branch_labels = None
depends_on = None

STANDARD_V1 = {
    "excluded_categories": [],
    "basically_satisfied_counts": True,
    "handling_limits": None,
    "list_min_volume": 5,
    "listed": 5,
}
HISTORY = ("kpi_rules", "switch_overs", "switch_over_rows")


def upgrade() -> None:
    now = sa.func.now()
    op.create_table(
        "kpi_rules",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    op.create_table(
        "switch_overs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("replay_id", sa.Integer, nullable=False, unique=True),
        sa.Column("switched_by", sa.String(200), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("replaced", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
        sa.Column("report", JSONB, nullable=False),
    )
    op.create_table(
        "switch_over_rows",
        sa.Column("switch_over_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("event_id", sa.Uuid, nullable=False, index=True),
        sa.Column("appeal_id", sa.Uuid),
        sa.Column("change", sa.String(10), nullable=False),  # replaced, added, removed
        sa.Column("problems", JSONB, nullable=False),  # what was wrong with the live row
    )
    op.execute(
        sa.text(
            "INSERT INTO kpi_rules (name, version, document, published_by) "
            "VALUES ('standard', 1, CAST(:document AS jsonb), 'migration')"
        ).bindparams(document=json.dumps(STANDARD_V1))
    )
    role = roles.runtime_role(op)
    for table in HISTORY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")


def downgrade() -> None:
    for table in reversed(HISTORY):
        op.drop_table(table)
