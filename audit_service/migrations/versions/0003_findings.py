"""Integrity findings: forged or undecodable records and broken chains, by position.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("appeal_id", sa.Uuid, index=True),
        sa.Column("event_id", sa.Uuid),
        sa.Column("source", sa.String(50)),
        sa.Column("type", sa.String(100)),
        sa.Column("version", sa.Integer),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column(
            "found_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("kind", "topic", "partition", "offset", name="uq_findings_position"),
    )


def downgrade() -> None:
    op.drop_table("findings")
