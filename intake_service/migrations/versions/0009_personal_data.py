"""Citizens' personal data sealed (crypto-shredding): the data keys intake holds, erasure
requests, and blind indexes instead of the plaintext phone and address on each appeal.

The plaintext columns go: repeats are found by blind index from now on (appeals filed before
keep no index, and after the repeat window that no longer matters). Facts recorded before
sealing stay as they were recorded: their bytes are hashed.

Revision ID: 0009
Revises: 0008_positions
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008_positions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizen_keys",
        sa.Column("key_id", sa.Uuid, primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary),
        sa.Column("phone_index", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("phone_index", name="uq_citizen_keys_phone_index"),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("key_ids", JSONB, nullable=False),
        sa.Column("appeal_ids", JSONB, nullable=False),
        sa.Column("event_ids", JSONB, nullable=False),
    )
    op.add_column("appeals", sa.Column("key_id", sa.Uuid))
    op.add_column("appeals", sa.Column("phone_index", sa.String(64)))
    op.add_column("appeals", sa.Column("address_index", sa.String(64)))
    op.add_column("appeals", sa.Column("personal_data_erased_at", sa.DateTime(timezone=True)))
    op.create_index("ix_appeals_key_id", "appeals", ["key_id"])
    op.create_index("ix_appeals_phone_index", "appeals", ["phone_index", "received_at"])
    op.create_index(
        "ix_appeals_address_index", "appeals", ["address_index", "category", "received_at"]
    )
    op.drop_index("ix_appeals_phone", table_name="appeals")
    op.drop_index("ix_appeals_address", table_name="appeals")
    op.drop_column("appeals", "phone")
    op.drop_column("appeals", "address")


def downgrade() -> None:
    op.add_column("appeals", sa.Column("address", sa.String(500)))
    op.add_column("appeals", sa.Column("phone", sa.String(21)))
    op.create_index("ix_appeals_address", "appeals", ["address", "category", "received_at"])
    op.create_index("ix_appeals_phone", "appeals", ["phone", "received_at"])
    for index in ("ix_appeals_address_index", "ix_appeals_phone_index", "ix_appeals_key_id"):
        op.drop_index(index, table_name="appeals")
    for column in ("personal_data_erased_at", "address_index", "phone_index", "key_id"):
        op.drop_column("appeals", column)
    op.drop_table("erasures")
    op.drop_table("citizen_keys")
