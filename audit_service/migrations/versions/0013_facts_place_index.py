"""An index on where each fact was read (topic, partition, offset): a replay checks the
live store against the log in place, range by range (audit_service/in_place.py).

Built concurrently, outside the migration's transaction, so audit keeps recording facts
while a large table is indexed.

Revision ID: audit_rest_0013
Revises: audit_rest_0012
"""

from alembic import op

revision = "audit_rest_0013"
down_revision = "audit_rest_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_facts_place",
            "facts",
            ["topic", "partition", "offset"],
            schema="public",
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_facts_place", table_name="facts", schema="public", postgresql_concurrently=True
        )
