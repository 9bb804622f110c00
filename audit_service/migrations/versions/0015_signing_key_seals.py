"""A recorded checkpoint signing key is sealed (domain/records.key_seal): the runtime role may
add rows to `signing_keys`, and verifiers take their keys from what audit serves, so audit
serves only keys it sealed. A key recorded before has no seal and is served only while it
is the configured one.

Revision ID: audit_rest_0015
Revises: idempotency_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "audit_rest_0015"
down_revision = "idempotency_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("seal", sa.String(64)), schema="public")


def downgrade() -> None:
    op.drop_column("signing_keys", "seal", schema="public")
