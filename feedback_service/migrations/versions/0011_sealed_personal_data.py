"""The citizen's phone is no longer kept in clear: feedback keeps intake's sealed personal
data and opens it only to send a notice. Phones kept before (from facts recorded before
sealing) move into the same column, in clear as their facts are, until the citizen is erased;
pending notices lose their phone from the body, which the sender adds back when sending.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("personal_data", JSONB))
    op.add_column("deliveries", sa.Column("personal_data", JSONB))
    op.execute(
        "UPDATE appeals SET personal_data = jsonb_build_object('phone', citizen_phone) "
        "WHERE citizen_phone IS NOT NULL"
    )
    op.execute(
        "UPDATE deliveries SET personal_data = jsonb_build_object('phone', body::jsonb->>'phone'),"
        " body = (body::jsonb - 'phone')::text "
        "WHERE subscription_id IS NULL AND body::jsonb ? 'phone'"
    )
    op.drop_column("appeals", "citizen_phone")


def downgrade() -> None:
    op.add_column("appeals", sa.Column("citizen_phone", sa.String(30)))
    op.execute("UPDATE appeals SET citizen_phone = personal_data->>'phone'")
    op.drop_column("deliveries", "personal_data")
    op.drop_column("appeals", "personal_data")
