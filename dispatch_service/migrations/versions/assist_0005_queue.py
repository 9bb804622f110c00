"""Assisting departments in the work-order view: a department's queue lists the work orders
it assists as well as those it leads.

Revision ID: assist_0005
Revises: sla_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "assist_0005"
down_revision = "sla_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column("assisting", ARRAY(sa.String(64)), nullable=False, server_default="{}"),
    )
    # Rows saved before the column: their assisting departments are in the stored view.
    op.execute(
        "UPDATE work_orders SET assisting = ARRAY("
        "SELECT jsonb_array_elements_text(state->'assisting'))::varchar(64)[]"
    )
    op.create_index(
        "ix_work_orders_assisting", "work_orders", ["assisting"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_assisting", table_name="work_orders")
    op.drop_column("work_orders", "assisting")
