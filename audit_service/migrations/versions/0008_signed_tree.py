"""The Merkle tree kept as stored subtree hashes, and signed checkpoints.

`merkle_leaves` fixes each fact's place in the tree once, and `merkle_nodes` holds the hash
of every complete aligned subtree, so a proof reads O(log n) rows. Both fill up as
checkpoints are made (the first one after this migration builds the tree of every fact
already recorded). Checkpoints made before now were never signed nor published: they stay,
but are no longer served.

The runtime role may only add to the tree and the keys (shared/runtime/roles.py), and may
lock the tree and the checkpoints: one writer extends the tree, one signs, at a time.

Revision ID: 0008
Revises: 0007_rules
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime import roles

revision = "0008"
down_revision = "0007_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merkle_leaves",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("fact_hash", sa.String(64), nullable=False, index=True),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True),
        sa.Column("index", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.add_column("checkpoints", sa.Column("signed_at", sa.DateTime(timezone=True)))
    op.add_column("checkpoints", sa.Column("key_id", sa.String(16)))
    op.add_column("checkpoints", sa.Column("signature", sa.String(128)))
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column(
            "first_used_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )
    role = roles.runtime_role(op)
    history = "merkle_leaves, merkle_nodes, signing_keys"
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {history} FROM {role}")
    op.execute(f"GRANT MAINTAIN ON merkle_leaves, checkpoints TO {role}")


def downgrade() -> None:
    op.execute(f"REVOKE MAINTAIN ON checkpoints FROM {roles.runtime_role(op)}")
    op.drop_table("signing_keys")
    op.drop_column("checkpoints", "signature")
    op.drop_column("checkpoints", "key_id")
    op.drop_column("checkpoints", "signed_at")
    op.drop_table("merkle_nodes")
    op.drop_table("merkle_leaves")
