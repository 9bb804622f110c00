"""How far this service's read models have followed each stream of the services it reads
(shared/runtime/positions.py): a caller that has seen a work order's version N gets an answer
only from a view that has followed it to N.

Revision ID: 0008_positions
Revises: 0007
"""

from alembic import op

from shared.runtime import positions

revision = "0008_positions"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    positions.create_table(op)  # the runtime role's grants come by default privileges


def downgrade() -> None:
    op.drop_table("stream_positions")
