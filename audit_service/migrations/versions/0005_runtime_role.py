"""The service connects as a runtime role that may only append to its history: the owner
runs migrations (see shared/runtime/roles.py).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.runtime import roles

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    roles.grant_runtime(
        op,
        append_only={
            "events": ("published_at",),
            "facts": (),
            "findings": (),
            "checkpoints": (),
            "parked_messages": (),
        },
        lockable=("facts",),  # checkpoints wait out ingest with LOCK ... IN SHARE MODE
        create_schemas=True,  # a replay rebuilds into a fresh schema
    )


def downgrade() -> None:
    roles.revoke_runtime(op)
