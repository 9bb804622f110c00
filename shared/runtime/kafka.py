"""aiokafka clients with the settings kafka.md requires, and explicit topic creation.

Every client here (and audit's replay readers) connects as `client_security()` says: plain
TCP by default, mutual TLS when HOTLINE_KAFKA_SECURITY_PROTOCOL=SSL (Strimzi's listener).
"""

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupCoordinatorNotAvailableError
from aiokafka.helpers import create_ssl_context

from shared import topics
from shared.runtime.settings import KafkaGroupTiming, KafkaSecurity

TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def client_security(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client; read from HOTLINE_KAFKA_* when not given.

    The context verifies the brokers' certificates against the cluster CA, hostnames
    included, and presents the user's certificate when one is configured.
    """
    security = security if security is not None else KafkaSecurity()
    if security.security_protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    context = create_ssl_context(
        cafile=str(security.ssl_cafile),
        certfile=None if security.ssl_certfile is None else str(security.ssl_certfile),
        keyfile=None if security.ssl_keyfile is None else str(security.ssl_keyfile),
    )
    return {"security_protocol": "SSL", "ssl_context": context}


# A lingering consumer's fetch is answered at this much data or at the linger, whichever
# comes first.
FETCH_GATHER_BYTES = 64 * 1024

# What a group member may hold fetched ahead of its loop. With aiokafka's defaults (1 MB a
# partition, 50 MB a fetch) audit, 36 partitions behind, fetched tens of MB at once while
# catching up, and a process keeps its high-water mark as resident size: 146.8 MB after
# the benchmark's catch-up, 129.3 with these. A pass takes at most BATCH_SIZE records,
# which a fetch of these still covers: the backlog drained as fast (docs/benchmarks.md).
# A record batch larger than a partition's share is still delivered, in a fetch where its
# partition is the first with records (the broker's rule since FetchRequest v3; aiokafka
# sends v4 and shuffles the partitions of every fetch): later, not lost
# (tests/integration/test_fetch_limits.py). A relay's batch holds at most 16 KB of records
# (aiokafka's max_batch_size), or one larger fact: the largest, a received appeal, is
# about 30 KB at most (4,000 characters of content and 20 attachment links).
FETCH_LIMITS: dict[str, int] = {"max_partition_fetch_bytes": 64 << 10, "fetch_max_bytes": 1 << 20}


def producer(
    bootstrap: str, *, client_id: str, security: KafkaSecurity | None = None
) -> AIOKafkaProducer:
    # Idempotence keeps partition order across retries and implies acks=all. No linger: the
    # relay enqueues a whole claimed batch before awaiting any of it, so records already
    # share a produce request under load, and an idle path pays no wait per hop.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        compression_type="lz4",
        **client_security(security),
    )


def consumer(
    bootstrap: str,
    *,
    group: str,
    instance_id: str | None,
    subscribe: Iterable[str],
    security: KafkaSecurity | None = None,
    timing: KafkaGroupTiming | None = None,
    linger_ms: float = 0,
) -> AIOKafkaConsumer:
    """A group member. Run replicas as dynamic members (no `instance_id`) when a graceful
    stop must hand partitions over at once: aiokafka's static members never send LeaveGroup
    (docs/kafka.md, Limits), so theirs wait for the session to expire.

    A consume loop that lingers (shared.runtime.pacing) lets the broker hold a fetch as
    long for records to gather. aiokafka sends every assigned partition in every fetch (no
    incremental fetch sessions), so a fetch answered at each record costs the broker a
    request over all of them. One that does not linger is answered at the first record."""
    timing = timing if timing is not None else KafkaGroupTiming()
    gather = {"fetch_min_bytes": FETCH_GATHER_BYTES, "fetch_max_wait_ms": max(1, round(linger_ms))}
    return AIOKafkaConsumer(
        *subscribe,
        bootstrap_servers=bootstrap,
        group_id=group,
        group_instance_id=instance_id,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_interval_ms=600_000,
        session_timeout_ms=timing.session_timeout_ms,
        heartbeat_interval_ms=timing.heartbeat_interval_ms,
        rebalance_timeout_ms=timing.rebalance_timeout_ms,
        **FETCH_LIMITS,
        **(gather if linger_ms > 0 else {}),
        **client_security(security),
    )


def _admin(bootstrap: str, *, security: KafkaSecurity | None = None) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="hotline-admin", **client_security(security)
    )


async def create_topics(
    bootstrap: str, *, partitions: int = topics.PARTITIONS, deadline_seconds: float = 60.0
) -> list[str]:
    """Create the project's topics if missing; returns the names created. Waits for the
    broker (and its group coordinator) first, so it doubles as the readiness check."""
    admin = _admin(bootstrap)
    async with asyncio.timeout(deadline_seconds):
        while True:
            try:
                await admin.start()
                break
            except Exception:  # broker still starting: retry until the deadline
                await asyncio.sleep(0.5)
        try:
            missing = sorted(set(topics.CREATED) - set(await admin.list_topics()))
            if missing:
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            min(partitions, topics.CREATED[name]),
                            1,
                            topic_configs=TOPIC_CONFIG,
                        )
                        for name in missing
                    ]
                )
            while True:  # creation is asynchronous on the controller
                if not set(topics.CREATED) - set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.2)
            while True:  # __consumer_offsets is created on first use and takes a moment
                try:
                    await admin.find_coordinator("readiness")
                    return missing
                except GroupCoordinatorNotAvailableError:
                    await asyncio.sleep(0.2)
        finally:
            await admin.close()


async def committed(bootstrap: str, group: str) -> dict[str, int]:
    """The consumer group's committed offsets, "topic:partition" → offset."""
    admin = _admin(bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {f"{tp.topic}:{tp.partition}": meta.offset for tp, meta in offsets.items()}


async def partitions(bootstrap: str, names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the named topics, as the broker's metadata lists them now."""
    admin = _admin(bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    )
