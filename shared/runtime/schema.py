"""Tables the runtime owns in every service's database: events (the outbox), inbox, parking,
idempotency. Each service's first migration creates them (see create_runtime_tables)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("stream_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("body", Text, nullable=False),  # the canonical bytes that were hashed and published
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("traceparent", String(100)),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    Index("ix_events_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer_group", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer_group", "event_id"),
)

parked_messages = Table(
    "parked_messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("consumer_group", String(100), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", LargeBinary),
    Column("body", LargeBinary),
    Column("reason", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("consumer_group", "topic", "partition", "offset", name="uq_parked_position"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
    # What the retention sweep deletes first (idempotency.sweep_expired).
    Index("ix_idempotency_keys_created_at", "created_at"),
)


def create_runtime_tables(op: Any) -> None:
    """Called from each service's first Alembic revision (op is alembic.op)."""
    metadata.create_all(op.get_bind())


def drop_runtime_tables(op: Any) -> None:
    metadata.drop_all(op.get_bind())


def create_index_concurrently(
    op: Any,
    name: str,
    table: str,
    columns: Sequence[str],
    schema: str = "public",
    include: Sequence[str] = (),
) -> None:
    """Build an index without blocking writes to the table (op is alembic.op): outside the
    migration's transaction, CONCURRENTLY. A build that failed or was cancelled leaves the
    index INVALID (present but never used), so one found invalid is dropped and built again;
    a database whose first revision made it already (from `metadata`) keeps it."""
    with op.get_context().autocommit_block():
        invalid = op.get_bind().scalar(
            text(
                "SELECT NOT i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :name AND n.nspname = :schema"
            ),
            {"name": name, "schema": schema},
        )
        if invalid:
            op.drop_index(name, table_name=table, schema=schema, postgresql_concurrently=True)
        op.create_index(
            name,
            table,
            list(columns),
            schema=schema,
            postgresql_concurrently=True,
            postgresql_include=list(include),
            if_not_exists=True,
        )


def drop_index_concurrently(op: Any, name: str, table: str, schema: str = "public") -> None:
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, schema=schema, postgresql_concurrently=True)


def index_idempotency_keys(op: Any) -> None:
    """Each service's revision that indexes idempotency_keys as `metadata` now does (a
    database made since has the index from its first revision)."""
    [index] = idempotency_keys.indexes
    create_index_concurrently(op, str(index.name), "idempotency_keys", list(index.columns.keys()))


def unindex_idempotency_keys(op: Any) -> None:
    [index] = idempotency_keys.indexes
    drop_index_concurrently(op, str(index.name), "idempotency_keys")
