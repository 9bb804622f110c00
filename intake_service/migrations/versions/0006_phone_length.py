"""The repeat-matching phone column holds the longest number the contract accepts ("+"
and 20 digits): at 20 characters such a filing failed with a server error.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("appeals", "phone", type_=sa.String(21))


def downgrade() -> None:
    op.alter_column("appeals", "phone", type_=sa.String(20))
