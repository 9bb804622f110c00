"""Each service's consume loop alone on a backlog produced straight to Kafka: records
applied per second and CPU per record (this process's, which runs the loop, and the
database's), with nothing else of the service running.

The backlog: APPEALS appeals filed at intake (their rows exist there, so intake's handlers
do their work), each with its intake facts (received, forwarded), dispatch's (assigned,
signed for, closed) and feedback's (handled, rated), hash-chained per stream. Each service
reads its own topics from where the backlog begins, into a fresh database, as a fresh
consumer group; the figures stop when the group has committed the backlog's end.

    bash services/with-test-stack.sh .venv/bin/python -m benchmarks.consume [SERVICE ...]

Run it from two checkouts against one stack (each produces its own backlog and reads only
that) to set code before and after side by side on a shared machine; compare ratios. Not
on a stack tests will use next: its backlog stays on the topics, and a fresh consumer group
there (every e2e service's) reads it all first. SQL statements per record are counted from
`pg_stat_statements` (transaction control apart).
"""

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import measure
from shared import envelope, events, topics
from shared.runtime import faults, kafka
from shared.runtime.consumer import ConsumeLoop, subscriptions
from shared.runtime.database import Database
from tests.support import infra
from tests.unit import factories

APPEALS = int(os.environ.get("BENCH_CONSUME_APPEALS", "1000"))
DRAIN_SECONDS = 600


async def _file(n: int) -> tuple[str, list[tuple[bytes, bytes]], list[events.AppealReceived]]:
    """n appeals filed at intake: its database's URL, its facts as records, the receipts."""
    from intake_service import filing, personal
    from intake_service.main import MIGRATIONS
    from intake_service.settings import IntakeSettings
    from tests.integration.test_one_transaction import APPEAL, OPERATOR

    url = await infra.fresh_database("bc_intake", MIGRATIONS)
    engine = create_async_engine(url)
    db, keyring, received = Database(engine), personal.Keyring.of(IntakeSettings()), []
    for _ in range(n):
        async with db.transaction() as tx:
            received.append(await filing.file_appeal(tx, APPEAL, context=OPERATOR, keyring=keyring))
    async with db.transaction() as tx:
        rows = await tx.driver.fetch("SELECT stream_id, body FROM events ORDER BY id")
    await engine.dispose()
    return url, [(str(r["stream_id"]).encode(), r["body"].encode()) for r in rows], received


def _chained(stream: Sequence[events.Event]) -> list[tuple[bytes, bytes]]:
    out, prev = [], envelope.GENESIS_HASH
    for version, event in enumerate(stream, start=1):
        recorded = envelope.encode(event, version=version, prev_hash=prev)
        prev = recorded.hash
        out.append((str(event.subject).encode(), recorded.body))
    return out


def _later_facts(received: events.AppealReceived) -> dict[str, list[tuple[bytes, bytes]]]:
    assigned = factories.assigned(received)
    signed = factories._dispatch_fact(events.SignedFor, assigned, department="water", person="李")
    handled = factories.handled(assigned)
    rated = factories.rated(handled)
    closed = factories.closed(rated)
    return {
        topics.BY_SOURCE["dispatch"]: _chained([assigned, signed, closed]),
        topics.BY_SOURCE["feedback"]: _chained([handled, rated]),
    }


async def _produce(backlog: dict[str, list[tuple[bytes, bytes]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.KAFKA, linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, value, key=key)
            for topic, records in backlog.items()
            for key, value in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _ends(names: Sequence[str]) -> dict[TopicPartition, int]:
    return {TopicPartition(*tp): end for tp, end in (await infra.end_offsets(names)).items()}


async def _start_group_at(group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.KAFKA, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def _database_pid(url: str) -> int:
    conn = await asyncpg.connect(measure.dsn(url))
    try:
        return _parent(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def _parent(pid: int) -> int:
    """The postmaster, whose descendants (backends, writers) do the database's work."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


# What each service's read models hold after the drain, in figures that do not depend on
# ids or clocks: two checkouts' runs must print the same.
_SUMMARIES = {
    "audit": (
        "SELECT count(*), count(DISTINCT seq), count(seal) FROM facts",
        "SELECT kind, count(*) FROM findings GROUP BY kind ORDER BY kind",
    ),
    "feedback": (
        "SELECT department, round, signed_for, count(*) FROM holders GROUP BY 1, 2, 3 ORDER BY 1",
        "SELECT count(*), sum(version) FROM stream_positions",
        "SELECT count(*), count(personal_data) FROM appeals",
    ),
    "intake": (
        "SELECT status, status_round, department, count(*) FROM appeals GROUP BY 1, 2, 3",
        "SELECT jsonb_object_keys(stages), count(*) FROM appeals GROUP BY 1 ORDER BY 1",
        "SELECT fact_type, status, count(*) FROM open311_updates GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT count(*), sum(version) FROM stream_positions",
    ),
}


async def _summary(name: str, url: str) -> list[Any]:
    return [
        [list(map(str, row)) for row in await infra.query(url, sql)] for sql in _SUMMARIES[name]
    ]


async def _drained(group: str, ends: dict[TopicPartition, int]) -> bool:
    committed = await infra.committed_offsets(group)
    return all(committed.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items())


def _service(name: str) -> dict[str, Any]:
    if name == "audit":
        from audit_service import handlers
        from audit_service.main import MIGRATIONS

        return {
            "migrations": MIGRATIONS, "handlers": handlers.HANDLERS, "topics": topics.ALL,
            "hooks": {"on_fact": handlers.on_fact, "on_park": handlers.on_park,
                      "on_duplicate": handlers.on_duplicate},
        }  # fmt: skip
    from shared.runtime import positions

    if name == "feedback":
        from feedback_service import handlers as feedback
        from feedback_service import settings
        from feedback_service.main import MIGRATIONS as FEEDBACK
        from feedback_service.settings import FeedbackSettings
        from shared.runtime.settings import load

        settings.use(load(FeedbackSettings))
        return {"migrations": FEEDBACK, "handlers": feedback.HANDLERS,
                "hooks": {"on_fact": positions.record}}  # fmt: skip
    from intake_service import handlers as intake

    return {"migrations": None, "handlers": intake.HANDLERS, "hooks": {"on_fact": positions.record}}


async def drain(name: str, start: dict[TopicPartition, int], intake_url: str) -> dict[str, Any]:
    spec = _service(name)
    wanted = spec.get("topics") or subscriptions(spec["handlers"])
    url = intake_url if spec["migrations"] is None else await infra.fresh_database(
        f"bc_{name}", spec["migrations"]
    )  # fmt: skip
    ends = await _ends(wanted)
    begin = {tp: start.get(tp, 0) for tp in ends}
    records = sum(ends[tp] - begin[tp] for tp in ends)
    group = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    await _start_group_at(group, begin)
    engine = create_async_engine(url, pool_size=4)
    loop = ConsumeLoop(
        Database(engine),
        lambda: kafka.consumer(infra.KAFKA, group=group, instance_id=None, subscribe=wanted),
        group=group, service=name, handlers=spec["handlers"], crash=faults.CrashPoints(None),
        **spec["hooks"],
    )  # fmt: skip
    postmaster = await _database_pid(url)
    await measure.reset_statements(measure.database_name(url))
    stopping = asyncio.Event()
    cpu, db_cpu, wall = time.process_time(), measure.cpu_seconds(postmaster), time.perf_counter()
    task = asyncio.create_task(loop.run(stopping))
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while not await _drained(group, ends):  # noqa: ASYNC110 (the broker's, polled)
                await asyncio.sleep(0.5)
        wall = time.perf_counter() - wall
        cpu, db_cpu = time.process_time() - cpu, measure.cpu_seconds(postmaster) - db_cpu
        sql = await measure.statements(measure.database_name(url), records)
    finally:
        stopping.set()
        await task
        await engine.dispose()
    return {
        "service": name,
        "records": records,
        "records_per_s": round(records / wall),
        "cpu_ms_per_record": round(1000 * cpu / records, 3),
        "db_cpu_ms_per_record": round(1000 * db_cpu / records, 3),
        "statements_per_record": sql["per_command"],
        "transaction_control_per_record": sql["transaction_control_per_command"],
        "summary": await _summary(name, url),
    }


async def main(names: Sequence[str]) -> None:
    await kafka.create_topics(infra.KAFKA)
    start = await _ends(topics.ALL)
    intake_url, intake_records, received = await _file(APPEALS)
    backlog: dict[str, list[tuple[bytes, bytes]]] = {topics.BY_SOURCE["intake"]: intake_records}
    for each in received:
        for topic, records in _later_facts(each).items():
            backlog.setdefault(topic, []).extend(records)
    await _produce(backlog)
    for name in names:
        print(json.dumps(await drain(name, start, intake_url)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["audit", "feedback", "intake"]))
