"""An index on when each Idempotency-Key was recorded: the records are deleted after the
service's retention (shared/runtime/idempotency.py), oldest first. Built concurrently
(shared/runtime/schema.py), so requests keep claiming keys while a large table is indexed.

Revision ID: idempotency_0001
Revises: pii_rest_0012_key_id
"""

from alembic import op

from shared.runtime import schema

revision = "idempotency_0001"
down_revision = "pii_rest_0012_key_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.index_idempotency_keys(op)


def downgrade() -> None:
    schema.unindex_idempotency_keys(op)
