"""What audit needs to notice a row deleted from its own stores.

`merkle_leaves` also keeps each leaf's appeal and read position, so a fact the tree holds
but the store lost is reported where it was (verification.py); leaves already made take
them from the facts they were made of. `findings` get a seal: an HMAC chain under audit's
seal key, each finding's seal covering the one before it, so a finding deleted or edited
breaks the chain at the next one. Findings recorded before this revision have none and
start the chain.

Revision ID: audit_rest_0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "audit_rest_0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("merkle_leaves", sa.Column("subject", sa.Uuid))
    op.add_column("merkle_leaves", sa.Column("topic", sa.String(200)))
    op.add_column("merkle_leaves", sa.Column("partition", sa.Integer))
    op.add_column("merkle_leaves", sa.Column("offset", sa.BigInteger))
    op.execute(
        "UPDATE merkle_leaves AS l SET subject = f.subject, topic = f.topic, "
        'partition = f.partition, "offset" = f."offset" FROM facts AS f '
        "WHERE f.event_id = l.event_id"
    )
    op.add_column("findings", sa.Column("seal", sa.String(64)))


def downgrade() -> None:
    op.drop_column("findings", "seal")
    for column in ("offset", "partition", "topic", "subject"):
        op.drop_column("merkle_leaves", column)
