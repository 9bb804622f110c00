"""Facts remember the order audit recorded them in; checkpoints publish Merkle roots.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows are numbered in physical order: the best record of arrival there is.
    op.add_column("facts", sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False))
    op.create_unique_constraint("uq_facts_seq", "facts", ["seq"])
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
    op.drop_constraint("uq_facts_seq", "facts")
    op.drop_column("facts", "seq")
