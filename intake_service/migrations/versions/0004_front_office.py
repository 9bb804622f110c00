"""The front office: what the appeals view needs to filter, flag repeats, show merges and
stage times and limit departments to their own; the knowledge base with its versions and
a GIN index over each article's search terms.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("phone", sa.String(20)))
    op.add_column("appeals", sa.Column("address", sa.String(500)))
    op.add_column("appeals", sa.Column("department", sa.String(64)))
    op.add_column("appeals", sa.Column("urgency", sa.String(10)))
    op.add_column("appeals", sa.Column("merged_into", sa.Uuid))
    op.add_column("appeals", sa.Column("repeat_candidates", JSONB))
    op.add_column("appeals", sa.Column("classification", JSONB))
    op.add_column("appeals", sa.Column("stages", JSONB))
    op.add_column("appeals", sa.Column("outcome", JSONB))
    op.create_index("ix_appeals_phone", "appeals", ["phone", "received_at"])
    op.create_index("ix_appeals_address", "appeals", ["address", "category", "received_at"])
    op.create_index("ix_appeals_department", "appeals", ["department"])
    op.create_index("ix_appeals_merged_into", "appeals", ["merged_into"])
    op.create_index("ix_appeals_status", "appeals", ["status"])
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("title_terms", ARRAY(sa.Text), nullable=False),
        sa.Column("terms", ARRAY(sa.Text), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kb_articles_terms", "kb_articles", ["terms"], postgresql_using="gin")
    op.create_table(
        "kb_article_versions",
        sa.Column("article_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kb_article_versions")
    op.drop_index("ix_kb_articles_terms", "kb_articles")
    op.drop_table("kb_articles")
    for index in ("status", "merged_into", "department", "address", "phone"):
        op.drop_index(f"ix_appeals_{index}", "appeals")
    for column in (
        "outcome",
        "stages",
        "classification",
        "repeat_candidates",
        "merged_into",
        "urgency",
        "department",
        "address",
        "phone",
    ):
        op.drop_column("appeals", column)
