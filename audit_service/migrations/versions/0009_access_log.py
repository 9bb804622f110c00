"""Who read or exported personal data, for auditors to see (GET /v1/access-log).

The runtime role may only append to it, as to the other history tables: a read once logged
stays logged (see shared/runtime/roles.py).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime import roles

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("appeal_id", sa.Uuid, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="public",
    )
    op.create_index("ix_access_log_appeal_id", "access_log", ["appeal_id"], schema="public")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM {roles.runtime_role(op)}")


def downgrade() -> None:
    op.drop_table("access_log", schema="public")
