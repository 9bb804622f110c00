"""Each fact's hash kept in the index on where it was read (`ix_facts_place`): a replay's
pass over the log reads the hashes it sets against the log's records from the index alone,
not from the rows (in_place.py).

The index is built again beside the old one, concurrently, outside the migration's
transaction (shared/runtime/schema.py), so audit keeps recording facts meanwhile; then the
old one is dropped and the new one takes its name.

Revision ID: audit_rest_0017
Revises: audit_rest_0016
"""

from collections.abc import Sequence

from alembic import op

from shared.runtime.schema import create_index_concurrently

revision = "audit_rest_0017"
down_revision = "audit_rest_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(include=["hash"])


def downgrade() -> None:
    _rebuild(include=[])


def _rebuild(include: Sequence[str]) -> None:
    place = ["topic", "partition", "offset"]
    create_index_concurrently(op, "ix_facts_place_new", "facts", place, include=include)
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS public.ix_facts_place")
        op.execute("ALTER INDEX public.ix_facts_place_new RENAME TO ix_facts_place")
