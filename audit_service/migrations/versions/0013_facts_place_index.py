"""An index on where each fact was read (topic, partition, offset): a replay checks the
live store against the log in place, range by range (audit_service/in_place.py).

Built concurrently, outside the migration's transaction (shared/runtime/schema.py), so
audit keeps recording facts while a large table is indexed.

Revision ID: audit_rest_0013
Revises: audit_rest_0012
"""

from alembic import op

from shared.runtime.schema import create_index_concurrently, drop_index_concurrently

revision = "audit_rest_0013"
down_revision = "audit_rest_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_index_concurrently(op, "ix_facts_place", "facts", ["topic", "partition", "offset"])


def downgrade() -> None:
    drop_index_concurrently(op, "ix_facts_place", "facts")
