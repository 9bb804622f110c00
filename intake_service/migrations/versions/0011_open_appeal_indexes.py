"""Repeat candidates by indexes of open appeals only, and the merge index without NULLs.

A filing looks for open, unmerged appeals from the same phone or at the same address. The
old indexes held every appeal, open or closed, and the planner, with statistics from when
the table was small, joined them with the merge index's NULL entries, one per appeal ever
filed: each filing's search grew with the table. Indexes whose predicate is the search's
own stay as small as the open work, and a scan of one stops at the search's limit. Only
merged appeals are looked up by `merged_into`, so that index need not hold the rest.

Revision ID: 0011
Revises: pii_rest_0010_access_log
"""

from alembic import op

revision = "0011"
down_revision = "pii_rest_0010_access_log"
branch_labels = None
depends_on = None

OPEN = "merged_into IS NULL AND status <> 'closed'"


def upgrade() -> None:
    op.drop_index("ix_appeals_phone_index", "appeals")
    op.drop_index("ix_appeals_address_index", "appeals")
    op.drop_index("ix_appeals_merged_into", "appeals")
    op.execute(
        "CREATE INDEX ix_appeals_open_by_phone ON appeals "
        f"(phone_index, received_at, id) WHERE {OPEN}"
    )
    op.execute(
        "CREATE INDEX ix_appeals_open_by_address ON appeals "
        f"(address_index, category, received_at, id) WHERE {OPEN}"
    )
    op.execute(
        "CREATE INDEX ix_appeals_merged_into ON appeals (merged_into) WHERE merged_into IS NOT NULL"
    )


def downgrade() -> None:
    for index in ("ix_appeals_open_by_phone", "ix_appeals_open_by_address"):
        op.drop_index(index, "appeals")
    op.drop_index("ix_appeals_merged_into", "appeals")
    op.create_index("ix_appeals_merged_into", "appeals", ["merged_into"])
    op.create_index("ix_appeals_phone_index", "appeals", ["phone_index", "received_at"])
    op.create_index(
        "ix_appeals_address_index", "appeals", ["address_index", "category", "received_at"]
    )
