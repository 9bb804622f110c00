"""Where the test Kafka and PostgreSQL are (started by services/with-test-stack.sh), and
fresh, migrated databases on them."""

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.runtime import kafka, migrations

KAFKA = f"127.0.0.1:{os.environ.get('KAFKA_PORT', '19092')}"
PG_PORT = int(os.environ.get("PGPORT_HOTLINE", "55433"))
HOW_TO_START = "run the tests with `make test`, which starts Kafka and PostgreSQL for them"


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://hotline@127.0.0.1:{PG_PORT}/{database}"


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
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(
        host="127.0.0.1", port=PG_PORT, user="hotline", database="postgres"
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = pg_url(name)
    await asyncio.to_thread(migrations.upgrade, migrations_dir, url)
    return url


async def read_topic(topic: str) -> list[tuple[bytes, bytes]]:
    """Every (key, value) now on the topic, from offset 0 to the current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[tuple[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(
                    (r.key, r.value)
                    for r in records
                    if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return found
    finally:
        await consumer.stop()
