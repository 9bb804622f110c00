"""A recorded checkpoint signing key is sealed (domain/records.key_seal): the runtime role may
add rows to `signing_keys`, and verifiers take their keys from what audit serves, so audit
serves only keys it sealed. A key recorded before has no seal: audit seals it at its next
checkpoint while it is the configured key (the runtime role may set a seal, which only the
seal key makes valid); a retired one stays unsealed and is no longer served.

Revision ID: audit_rest_0015
Revises: idempotency_0001
"""

import sqlalchemy as sa
from alembic import op

from shared.runtime import roles

revision = "audit_rest_0015"
down_revision = "idempotency_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("seal", sa.String(64)), schema="public")
    op.execute(f"GRANT UPDATE (seal) ON public.signing_keys TO {roles.runtime_role(op)}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (seal) ON public.signing_keys FROM {roles.runtime_role(op)}")
    op.drop_column("signing_keys", "seal", schema="public")
