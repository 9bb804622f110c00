"""The access log: who read an appeal with the citizen's data or text shown, and when;
append-only for the runtime role.

Revision ID: pii_rest_0010_access_log
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime import roles

revision = "pii_rest_0010_access_log"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("appeal_id", sa.Uuid, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_log_appeal_id", "access_log", ["appeal_id"])
    # the service appends to its access log; it never rewrites it
    op.execute(f"REVOKE UPDATE, DELETE ON access_log FROM {roles.runtime_role(op)}")


def downgrade() -> None:
    op.drop_table("access_log")
