"""Each fact's whole row but its bytes sealed under audit's seal key (domain/records.row_seals),
and its bytes held to its hash by PostgreSQL as each row is written (`ck_facts_body_hash`):
a replay then checks a row with one MAC and the constraint, instead of reading its claims
back from its bytes and hashing them (live_checks.py).

Rows recorded before have no row seal: a replay checks them the slower way, by their bytes.
The constraint is validated over the rows there are; should one of them not hash to its
hash (edited), it stays NOT VALID, and replays hash every row themselves, which finds it.

Revision ID: audit_rest_0016
Revises: audit_rest_0015
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "audit_rest_0016"
down_revision = "audit_rest_0015"
branch_labels = None
depends_on = None
log = logging.getLogger("alembic.runtime.migration")

# As audit_service/store/tables.py has them, when this revision was written.
BODY_HASHED = "hash = encode(sha256(convert_to(body, 'UTF8')), 'hex')"
ROW_DIGEST = r"""
sha256(decode(replace(
    coalesce("event_id"::text, '') || '|' || length("hash")::text || ':' || "hash"
    || '|' || length("topic")::text || ':' || "topic"
    || '|' || coalesce("partition"::text, '') || '|' || coalesce("offset"::text, '')
    || '|' || (extract(epoch FROM "ingested_at" - '1970-01-01 00:00:00+00'::timestamptz)
        * 1000000)::bigint::text
    || '|' || coalesce("seq"::text, '') || '|' || length("source")::text || ':' || "source"
    || '|' || length("type")::text || ':' || "type" || '|' || coalesce("subject"::text, '')
    || '|' || coalesce("version"::text, '')
    || '|' || (extract(epoch FROM "time" - '1970-01-01 00:00:00+00'::timestamptz)
        * 1000000)::bigint::text
    || '|' || coalesce("causation_id"::text, '') || '|' || length("actor")::text || ':' || "actor"
    || '|' || length("prev_hash")::text || ':' || "prev_hash",
    '\', '\\'), 'escape'))
"""


def upgrade() -> None:
    op.add_column("facts", sa.Column("row_seal", sa.String(64)), schema="public")
    # Every row written again once, to compute it: ingest waits meanwhile (its lag grows).
    op.add_column(
        "facts",
        sa.Column("row_digest", sa.LargeBinary, sa.Computed(ROW_DIGEST, persisted=True)),
        schema="public",
    )
    op.execute(
        f"ALTER TABLE public.facts ADD CONSTRAINT ck_facts_body_hash CHECK ({BODY_HASHED}) "
        "NOT VALID"
    )
    try:
        with op.get_bind().begin_nested():
            op.execute("ALTER TABLE public.facts VALIDATE CONSTRAINT ck_facts_body_hash")
    except sa.exc.IntegrityError:
        log.warning("a fact's bytes do not hash to its hash: ck_facts_body_hash left NOT VALID")


def downgrade() -> None:
    op.drop_constraint("ck_facts_body_hash", "facts", schema="public")
    op.drop_column("facts", "row_digest", schema="public")
    op.drop_column("facts", "row_seal", schema="public")
