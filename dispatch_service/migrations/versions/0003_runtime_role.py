"""The service connects as a runtime role that may only append to its history: the owner
runs migrations (see shared/runtime/roles.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.runtime import roles

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    roles.grant_runtime(
        op,
        append_only={"events": ("published_at",), "parked_messages": ()},
    )


def downgrade() -> None:
    roles.revoke_runtime(op)
