"""An appeal's history checks that every fact the signed tree holds for it is still listed
under it (a stream's last fact moved to another appeal leaves no gap): the leaves are found
by appeal.

Revision ID: audit_rest_0011
Revises: audit_rest_0010
"""

from alembic import op

revision = "audit_rest_0011"
down_revision = "audit_rest_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_merkle_leaves_subject", "merkle_leaves", ["subject"], schema="public")


def downgrade() -> None:
    op.drop_index("ix_merkle_leaves_subject", table_name="merkle_leaves", schema="public")
