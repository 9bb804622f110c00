"""A finished replay's record is sealed (domain/records.replay_seal): the runtime role owns
the replay's schema and may update its row, so a switch-over, run by the owner, checks the
seal before it trusts the rebuilt table. A replay finished before has none: run a new one.

Revision ID: audit_rest_0012
Revises: audit_rest_0011
"""

import sqlalchemy as sa
from alembic import op

revision = "audit_rest_0012"
down_revision = "audit_rest_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("replays", sa.Column("seal", sa.String(64)), schema="public")


def downgrade() -> None:
    op.drop_column("replays", "seal", schema="public")
