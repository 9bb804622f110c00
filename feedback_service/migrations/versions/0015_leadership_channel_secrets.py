"""Each department's leadership channel signs with a secret of its own, made when the centre
publishes the channel and shown that once: a channel signed with the citizens' channel
secret could forge notices to citizens, and any leadership receiver another department's.
A channel published before has none, and its notices fail until it is published again.

Revision ID: leadership_0002
Revises: idempotency_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "leadership_0002"
down_revision = "idempotency_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leadership_channels", sa.Column("secret", sa.String(200)))


def downgrade() -> None:
    op.drop_column("leadership_channels", "secret")
