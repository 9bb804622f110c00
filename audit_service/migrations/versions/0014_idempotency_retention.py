"""An index on when each Idempotency-Key was recorded: the records are deleted after the
service's retention (shared/runtime/idempotency.py), oldest first. Built concurrently, so
requests keep claiming keys while a large table is indexed.

Revision ID: idempotency_0001
Revises: audit_rest_0013
"""

from alembic import op

revision = "idempotency_0001"
down_revision = "audit_rest_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_idempotency_keys_created_at",
            "idempotency_keys",
            ["created_at"],
            postgresql_concurrently=True,
            if_not_exists=True,  # a database created since has it from its first revision
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_idempotency_keys_created_at",
            table_name="idempotency_keys",
            postgresql_concurrently=True,
        )
