"""Runtime tables, the facts projection and replay jobs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.runtime.schema import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "facts",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("subject", sa.Uuid, nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("causation_id", sa.Uuid),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column(
            "ingested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "replays",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schema_name", sa.String(63), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("end_offsets", JSONB, nullable=False),
        sa.Column("facts_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("report", JSONB),
    )


def downgrade() -> None:
    op.drop_table("replays")
    op.drop_table("facts")
    drop_runtime_tables(op)
