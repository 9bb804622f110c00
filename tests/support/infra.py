"""Where the test Kafka and PostgreSQL are (started by services/with-test-stack.sh), and
fresh, migrated databases on them."""

import asyncio
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.runtime import kafka, migrations, roles
from tests.support import polling

KAFKA = f"127.0.0.1:{os.environ.get('KAFKA_PORT', '19092')}"
PG_PORT = int(os.environ.get("PGPORT_HOTLINE", "55433"))
HOW_TO_START = "run the tests with `make test`, which starts Kafka and PostgreSQL for them"


OWNER = "hotline"  # owns the databases and runs migrations (services/postgres.sh)
RUNTIME = roles.DEFAULT_RUNTIME_ROLE  # what the services connect as


def pg_url(database: str, *, role: str = OWNER) -> str:
    return f"postgresql+asyncpg://{role}@127.0.0.1:{PG_PORT}/{database}"


def owner_url(url: str) -> str:
    """The same database as its owner: what a test needs to edit history behind a service's
    back (the runtime role cannot)."""
    return url.replace(f"//{RUNTIME}@", f"//{OWNER}@", 1)


async def require_servers() -> None:
    """Fail (never skip) when the real servers are missing: these tests claim their behaviour."""
    try:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=PG_PORT, user="hotline", database="postgres", timeout=5
        )
        await conn.close()
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:{PG_PORT} ({exc}): {HOW_TO_START}")
    try:
        await kafka.create_topics(KAFKA, deadline_seconds=60)
    except TimeoutError:
        pytest.fail(f"Kafka is not reachable at {KAFKA}: {HOW_TO_START}")


async def fresh_database(prefix: str, migrations_dir: Path) -> str:
    """A new database migrated by its owner; the URL returned connects as the runtime role,
    as the services do."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(
        host="127.0.0.1", port=PG_PORT, user="hotline", database="postgres"
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await asyncio.to_thread(migrations.upgrade, migrations_dir, pg_url(name))
    return pg_url(name, role=RUNTIME)


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    value: bytes

    @property
    def fact(self) -> dict[str, Any]:
        """The decoded envelope, or {} for a message that is not JSON (tests put poison)."""
        try:
            decoded = json.loads(self.value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}

    @property
    def event_id(self) -> str | None:
        return self.fact.get("id")


async def read_topic(topic: str) -> list[Message]:
    """Every message now on the topic, from offset 0 to the current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await kafka.partitions(KAFKA, [topic])
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[Message] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(
                    Message(r.partition, r.offset, r.value)
                    for r in records
                    if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return found
    finally:
        await consumer.stop()


async def committed_offsets(group: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


async def end_offsets(topics: Sequence[str]) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await kafka.partitions(KAFKA, topics)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def query(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows of a read-only query against one service's database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def until_a_backend_waits_on_a_lock(url: str, *, deadline_seconds: float = 10) -> None:
    """Wait until a session on the database of `url` waits for a lock another holds (a row
    an open transaction wrote or locked): a race set up for certain, not a sleep trusted to
    have set it up. The owner sees every session's wait; a transaction per look, since a
    transaction sees one snapshot of pg_stat_activity."""
    engine = create_async_engine(owner_url(url))

    async def waiting() -> bool | None:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return True if found else None

    try:
        await polling.until(
            waiting, deadline_seconds=deadline_seconds, what="a session to wait on a lock"
        )
    finally:
        await engine.dispose()


async def scratch_topic() -> str:
    """A new single-partition topic for one test's own messages."""
    name = f"hotline.test.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()
    return name
