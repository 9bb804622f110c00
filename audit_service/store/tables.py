"""audit's tables: every fact received, the replay jobs and their switch-overs, the
checkpoints, the findings and the KPI rules.

The facts table lives in the `public` schema for the live projection; a replay rebuilds into
a fresh schema through SQLAlchemy's schema_translate_map, so the same code serves both.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from audit_service.domain import records
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)
projection = MetaData(naming_convention=NAMING_CONVENTION)  # the part a replay rebuilds

BODY_HASHED = "hash = encode(sha256(convert_to(body, 'UTF8')), 'hex')"


def row_digest(alias: str = "") -> str:
    """The SHA-256 of a row's seal message as domain/records.row_message writes it, in SQL
    a generated column may hold: immutable functions only (a text's UTF-8 bytes through
    `decode(…, 'escape')` with its backslashes doubled, not `convert_to`; a time's
    microseconds from an interval, not from the time itself). `alias`: the table's, for a
    query that names its columns so."""
    texts = []
    for column in records.ROW_SEALED:
        name = f'{alias}"{column}"'
        if column in records.ROW_SEALED_TEXT:
            texts.append(f"length({name})::text || ':' || {name}")
        elif column in ("ingested_at", "time"):
            since = f"{name} - '1970-01-01 00:00:00+00'::timestamptz"
            texts.append(f"(extract(epoch FROM {since}) * 1000000)::bigint::text")
        else:
            texts.append(f"coalesce({name}::text, '')")
    message = " || '|' || ".join(texts)
    return f"sha256(decode(replace({message}, '\\', '\\\\'), 'escape'))"


facts = Table(
    "facts",
    projection,
    Column("event_id", Uuid, primary_key=True),
    Column("source", String(50), nullable=False),
    Column("type", String(100), nullable=False),
    Column("subject", Uuid, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False, index=True),  # a month's appeals
    Column("actor", String(200), nullable=False),
    Column("causation_id", Uuid),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The order audit recorded facts in: the Merkle tree's leaf order (see checkpoints.py).
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    # HMAC of the record time and place under audit's key (domain/records.py).
    Column("seal", String(64)),
    # MAC of the whole row but its bytes (domain/records.row_seals): what a replay checks a
    # row with. NULL in rows recorded before it, and in a replay's own rebuilt rows.
    Column("row_seal", String(64)),
    # The SHA-256 of what the row seal signs, kept up to date by PostgreSQL itself.
    Column("row_digest", LargeBinary, Computed(row_digest(), persisted=True)),
    # Where each fact was read: a replay checks the live store against the log in place,
    # reading each row's hash from the index alone.
    Index("ix_facts_place", "topic", "partition", "offset", postgresql_include=["hash"]),
    # Its bytes hash to its hash, checked by PostgreSQL as each row is written: a replay
    # finds this constraint validated instead of hashing every row again (live_checks.py).
    CheckConstraint(BODY_HASHED, name="body_hash"),
)

replays = Table(
    "replays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schema_name", String(63), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("end_offsets", JSONB, nullable=False),
    Column("facts_read", BigInteger, nullable=False, server_default="0"),
    Column("report", JSONB),
    Column("seal", String(64)),  # domain/records.replay_seal, once finished
    schema="public",  # fixed: a replay's schema_translate_map must never move this table
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True),  # the first `size` facts in seq order
    Column("root", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The signed statement (audit_service/domain/signing.py); NULL only for checkpoints made
    # before signing began, which are not served.
    Column("signed_at", DateTime(timezone=True)),
    Column("key_id", String(16)),
    Column("signature", String(128)),
    schema="public",
)

# The Merkle tree (domain/merkle.py): each fact's leaf index, fixed once, and the hash of
# every complete aligned subtree, so a proof reads O(log n) rows.
merkle_leaves = Table(
    "merkle_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # facts.seq
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("fact_hash", String(64), nullable=False, index=True),
    # Where the fact was read, so a fact the store lost is reported at its appeal and place.
    Column("subject", Uuid, index=True),  # an appeal's history finds its leaves
    Column("topic", String(200)),
    Column("partition", Integer),
    Column("offset", BigInteger),
    schema="public",
)
merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True),
    Column("index", BigInteger, primary_key=True),
    Column("hash", LargeBinary, nullable=False),
    schema="public",
)
# Every key checkpoints were signed with, so a checkpoint outlives a key rotation.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("public_key", Text, nullable=False),  # PEM
    Column("first_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("seal", String(64)),  # domain/records.key_seal; NULL for a key recorded before
    schema="public",
)

findings = Table(
    "findings",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("appeal_id", Uuid, index=True),
    Column("event_id", Uuid),
    Column("source", String(50)),
    Column("type", String(100)),
    Column("version", Integer),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Column("found_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # HMAC chain under audit's seal key (domain/findings.py): a deleted finding breaks it.
    Column("seal", String(64)),
    UniqueConstraint("kind", "topic", "partition", "offset", name="uq_findings_position"),
    schema="public",
)

kpi_rules = Table(
    "kpi_rules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_by", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="public",
)

switch_overs = Table(
    "switch_overs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("replay_id", Integer, nullable=False, unique=True),
    Column("switched_by", String(200), nullable=False),
    Column("switched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("replaced", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("report", JSONB, nullable=False),
    schema="public",
)

switch_over_rows = Table(
    "switch_over_rows",
    metadata,
    Column("switch_over_id", BigInteger, nullable=False, index=True),
    Column("event_id", Uuid, nullable=False, index=True),
    Column("appeal_id", Uuid),
    Column("change", String(10), nullable=False),
    Column("problems", JSONB, nullable=False),
    schema="public",
)

# Who read or exported personal data: one row per read that showed it unmasked (a token
# with audit:personal-data), never what was shown.
access_log = Table(
    "access_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("principal", String(200), nullable=False),
    Column("action", String(100), nullable=False),  # e.g. "appeal history", "export jsonl"
    Column("appeal_id", Uuid, index=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="public",
)
