"""The citizen's data key id on each appeal feedback knows, to seal a rating's or
callback's comment under it. Appeals filed before (no key, or a key only in their sealed
personal data) take it from there; comments on the rest are not kept.

Revision ID: pii_rest_0012_key_id
Revises: sla_0012
"""

import sqlalchemy as sa
from alembic import op

revision = "pii_rest_0012_key_id"
down_revision = "sla_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("key_id", sa.Uuid))
    op.execute(
        "UPDATE appeals SET key_id = (personal_data->>'key_id')::uuid "
        "WHERE personal_data ? 'ciphertext'"
    )


def downgrade() -> None:
    op.drop_column("appeals", "key_id")
