"""The Open311 update feed: one row per public fact about an appeal, keyed by the fact's id.
Appeals received before it get their `appeal.received` update from intake's own events;
what dispatch and feedback did before it is not replayed into the feed.

Revision ID: 0005
Revises: 0003 (0004 is another branch's; the integrator rechains them)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_updates",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("update_id", sa.Uuid, nullable=False),
        sa.Column("appeal_id", sa.Uuid, nullable=False),
        sa.Column("fact_type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.String(64)),
        sa.Column("due", sa.DateTime(timezone=True)),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("update_id", name="uq_open311_updates_update_id"),
    )
    op.create_index("ix_open311_updates_appeal_id", "open311_updates", ["appeal_id"])
    op.create_index("ix_open311_updates_updated_at_id", "open311_updates", ["updated_at", "id"])
    op.execute(
        """
        INSERT INTO open311_updates
            (update_id, appeal_id, fact_type, status, description, updated_at)
        SELECT e.event_id, e.stream_id, e.type, 'for_triage',
               '已受理，待派单 Received, awaiting dispatch', (e.body::jsonb ->> 'time')::timestamptz
        FROM events e JOIN appeals a ON a.id = e.stream_id
        WHERE e.type = 'appeal.received'
        ORDER BY e.id
        """
    )


def downgrade() -> None:
    op.drop_table("open311_updates")
