"""What aiokafka 0.14.0 can do against the broker the test stack runs (Apache Kafka 4.3.1, the
version the Strimzi manifests deploy). Kafka 4.0 removed old protocol versions (KIP-896) and
aiokafka's own CI stops at broker 2.8, so each feature our delivery guarantees rest on is
checked here on the real broker, with the clients built as the services build them
(`shared.runtime.kafka`). The findings, with these tests' names, are in docs/kafka.md.

Each test works on topics and groups of its own, so it never sees the services' facts."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.protocol.admin import (
    ApiVersionRequest,
    CreateTopicsRequest,
    DescribeConfigsRequest,
    DescribeGroupsRequest,
    ListGroupsRequest,
)
from aiokafka.protocol.api import Request
from aiokafka.protocol.commit import OffsetCommitRequest, OffsetFetchRequest
from aiokafka.protocol.coordination import FindCoordinatorRequest
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.group import (
    HeartbeatRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    SyncGroupRequest,
)
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.protocol.transaction import InitProducerIdRequest

from shared.runtime import kafka
from tests.support import infra, polling

pytestmark = pytest.mark.integration

# Every request the runtime sends: producer (relay), consumer group (consume loop), admin
# (topic creation, readiness, the tests' offset checks). Transactions are not used.
RUNTIME_REQUESTS: list[type[Request[Any]]] = [
    ApiVersionRequest,
    MetadataRequest,
    InitProducerIdRequest,  # idempotent producer: a producer id and epoch
    ProduceRequest,
    FetchRequest,
    OffsetRequest,  # ListOffsets: earliest/latest on reset, end_offsets
    FindCoordinatorRequest,
    JoinGroupRequest,
    SyncGroupRequest,
    HeartbeatRequest,
    LeaveGroupRequest,
    OffsetCommitRequest,
    OffsetFetchRequest,
    CreateTopicsRequest,
    DescribeConfigsRequest,
    DescribeGroupsRequest,
    ListGroupsRequest,
]

# The lowest version of each that our guarantees need; the broker must accept aiokafka's pick.
NEEDED = {
    ProduceRequest: 3,  # record batches (magic 2) with producer id, epoch and sequence
    FetchRequest: 4,  # isolation_level=read_committed
    JoinGroupRequest: 5,  # group.instance.id (static membership, KIP-345)
    SyncGroupRequest: 3,  # group.instance.id
}


@pytest.fixture
async def admin(servers: None) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=infra.KAFKA, client_id="compat-admin")
    await client.start()
    yield client
    await client.close()


async def new_topic(admin: AIOKafkaAdminClient, partitions: int) -> str:
    name = f"hotline.compat.{uuid.uuid4().hex[:12]}"
    response = await admin.create_topics(
        [NewTopic(name, partitions, 1, topic_configs=kafka.TOPIC_CONFIG)]
    )
    assert [(t[0], t[1]) for t in response.topic_errors] == [(name, 0)], response
    return name


async def produce(producer: AIOKafkaProducer, topic: str, keys: Iterable[str]) -> None:
    """Send one record per key (value: key/index), enqueueing all before awaiting, as the
    relay does."""
    pending = [
        await producer.send(topic, key=key.encode(), value=f"{key}/{i}".encode())
        for i, key in enumerate(keys)
    ]
    await asyncio.gather(*pending)


async def read_all(topic: str, count: int) -> list[Any]:
    """The first `count` records of the topic, in partition order (no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.KAFKA, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        partitions = await kafka.partitions(infra.KAFKA, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[Any] = []
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found.extend(records)
        return found
    finally:
        await consumer.stop()


def group_consumer(topic: str, group: str, instance_id: str | None = None) -> AIOKafkaConsumer:
    """A member built exactly as the services build theirs."""
    return kafka.consumer(infra.KAFKA, group=group, instance_id=instance_id, subscribe=[topic])


async def test_the_broker_accepts_a_version_of_every_request_the_runtime_sends(
    servers: None,
) -> None:
    """aiokafka sends the highest version both sides know (per connection, aiokafka #1136):
    each request we use must have one the 4.3.1 broker still accepts after KIP-896."""
    conn = await create_conn(*infra.KAFKA.split(":"))
    try:
        broker: dict[int, tuple[int, int]] = conn._versions
    finally:
        conn.close()
    chosen: dict[str, int] = {}
    for request in RUNTIME_REQUESTS:
        known = sorted(struct.API_VERSION for struct in request._CLASSES)
        low, high = broker[request.API_KEY]
        usable = [v for v in known if low <= v <= high]
        assert usable, f"{request.__name__}: aiokafka knows v{known}, the broker v{low}-{high}"
        chosen[request.__name__] = usable[-1]
    for request, needed in NEEDED.items():
        assert chosen[request.__name__] >= needed, (request.__name__, chosen)


async def test_idempotent_producer_gets_a_producer_id_and_keeps_order(
    admin: AIOKafkaAdminClient,
) -> None:
    topic = await new_topic(admin, 3)
    producer = kafka.producer(infra.KAFKA, client_id="compat-idempotent")
    await producer.start()
    keys = [f"appeal-{i % 7}" for i in range(700)]
    try:
        await produce(producer, topic, keys)
        # InitProducerId answered: the broker issued an id; each batch carries it with an
        # epoch and sequence numbers, which the broker checks (a gap or repeat is refused).
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()

    records = await read_all(topic, len(keys))
    values = [r.value.decode() for r in records]
    assert sorted(values) == sorted(f"{k}/{i}" for i, k in enumerate(keys))  # none lost, none twice
    for key in set(keys):  # one key's records in send order, on one partition
        mine = [r for r in records if r.key == key.encode()]
        assert len({r.partition for r in mine}) == 1
        sent_order = [int(r.value.decode().split("/")[1]) for r in mine]
        assert sent_order == sorted(sent_order)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_compressed_batches_round_trip(admin: AIOKafkaAdminClient, codec: str) -> None:
    """lz4 is what the relay sends (kafka.producer); the others are what a consumer may meet.
    zstd needs Produce v7, the last aiokafka knows."""
    topic = await new_topic(admin, 1)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.KAFKA,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        compression_type=codec,
    )
    await producer.start()
    try:
        value = ("诉求 " * 200).encode()  # compressible, non-ASCII
        pending = [await producer.send(topic, value=value + bytes([i])) for i in range(50)]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    records = await read_all(topic, 50)
    assert [r.value for r in records] == [value + bytes([i]) for i in range(50)]


async def test_the_relay_producer_settings_round_trip(admin: AIOKafkaAdminClient) -> None:
    topic = await new_topic(admin, 1)
    producer = kafka.producer(infra.KAFKA, client_id="compat-relay")
    assert producer._compression_type == "lz4"
    await producer.start()
    try:
        await produce(producer, topic, ["a"] * 20)
    finally:
        await producer.stop()
    assert [r.value for r in await read_all(topic, 20)] == [f"a/{i}".encode() for i in range(20)]


async def consume_and_commit(
    consumer: AIOKafkaConsumer, seen: list[tuple[int, int]], stop: asyncio.Event
) -> None:
    """The consume loop's shape: a batch per partition, then its offset committed."""
    while not stop.is_set():
        for tp, records in (await consumer.getmany(timeout_ms=200)).items():
            seen.extend((r.partition, r.offset) for r in records)
            await consumer.commit({tp: records[-1].offset + 1})


async def test_two_members_share_the_partitions_and_rebalance(
    admin: AIOKafkaAdminClient,
) -> None:
    topic = await new_topic(admin, 4)
    group = f"compat-{uuid.uuid4().hex[:8]}"
    everything = {TopicPartition(topic, p) for p in range(4)}
    first, second = group_consumer(topic, group), group_consumer(topic, group)
    stop = asyncio.Event()
    seen: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
    await first.start()
    loops = [asyncio.create_task(consume_and_commit(first, seen[0], stop))]
    try:

        async def first_has_all() -> bool | None:
            return True if first.assignment() == everything else None

        await polling.until(first_has_all, what="the only member to own all partitions")

        await second.start()
        loops.append(asyncio.create_task(consume_and_commit(second, seen[1], stop)))

        async def shared() -> bool | None:
            a, b = first.assignment(), second.assignment()
            return True if a and b and not a & b and a | b == everything else None

        await polling.until(shared, what="a rebalance sharing the partitions")

        producer = kafka.producer(infra.KAFKA, client_id="compat-group")
        await producer.start()
        try:
            await produce(producer, topic, [f"appeal-{i}" for i in range(200)])
        finally:
            await producer.stop()

        async def all_consumed() -> bool | None:
            return True if len(seen[0]) + len(seen[1]) >= 200 else None

        await polling.until(all_consumed, what="both members to consume everything")
        assert seen[0], "the first member consumed its share"
        assert seen[1], "the second member consumed its share"
        assert not set(seen[0]) & set(seen[1]), "no record went to both members"
        assert len(set(seen[0]) | set(seen[1])) == 200

        # A graceful leave (LeaveGroup) hands the partitions back at once.
        stop_second = loops.pop()
        stop_second.cancel()
        await asyncio.gather(stop_second, return_exceptions=True)
        await second.stop()
        await polling.until(first_has_all, what="the remaining member to take all partitions")
    finally:
        stop.set()
        await asyncio.gather(*loops, return_exceptions=True)
        await first.stop()
        await second.stop()

    # Committed offsets read back through the admin API, as the tests' drain checks do.
    committed = await infra.committed_offsets(group)
    ends = await infra.end_offsets([topic])
    assert committed == ends
    assert sum(ends.values()) == 200


async def test_committed_offsets_read_back_and_a_new_member_resumes_there(
    admin: AIOKafkaAdminClient,
) -> None:
    topic = await new_topic(admin, 2)
    group = f"compat-{uuid.uuid4().hex[:8]}"
    producer = kafka.producer(infra.KAFKA, client_id="compat-offsets")
    await producer.start()
    try:
        await produce(producer, topic, [f"k{i}" for i in range(40)])
    finally:
        await producer.stop()

    consumer = group_consumer(topic, group)
    await consumer.start()
    try:
        tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        await consumer.commit({tp0: 3, tp1: 5})
        assert await consumer.committed(tp0) == 3
        assert await consumer.committed(tp1) == 5
    finally:
        await consumer.stop()

    offsets = await admin.list_consumer_group_offsets(group)
    assert {tp.partition: meta.offset for tp, meta in offsets.items()} == {0: 3, 1: 5}

    again = group_consumer(topic, group)
    await again.start()
    try:
        first_offsets: dict[int, int] = {}
        async with asyncio.timeout(30):
            while len(first_offsets) < 2:
                for tp, records in (await again.getmany(timeout_ms=500)).items():
                    first_offsets.setdefault(tp.partition, records[0].offset)
        assert first_offsets == {0: 3, 1: 5}  # nothing before a committed offset comes back
    finally:
        await again.stop()


async def test_admin_creates_and_describes_topics_and_groups(
    admin: AIOKafkaAdminClient,
) -> None:
    topic = await new_topic(admin, 12)

    # CreateTopics answers once the controller made the topic; the broker's metadata
    # (which ListTopics reads) catches up a moment later
    async def listed() -> bool | None:
        return True if topic in await admin.list_topics() else None

    await polling.until(listed, deadline_seconds=10, what="the new topic in ListTopics")
    [described] = await admin.describe_topics([topic])
    assert described["error_code"] == 0
    assert len(described["partitions"]) == 12

    [configs] = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, dict(kafka.TOPIC_CONFIG))]
    )
    values = {entry[0]: entry[1] for resource in configs.resources for entry in resource[4]}
    assert values == kafka.TOPIC_CONFIG

    cluster = await admin.describe_cluster()
    assert [broker["node_id"] for broker in cluster["brokers"]] == [1]
    assert await admin.find_coordinator("readiness") == 1

    group = f"compat-{uuid.uuid4().hex[:8]}"
    member = group_consumer(topic, group)
    await member.start()
    try:

        async def assigned() -> bool | None:
            return True if len(member.assignment()) == 12 else None

        await polling.until(assigned, what="the member's assignment")
        assert (group, "consumer") in await admin.list_consumer_groups()
        [response] = await admin.describe_consumer_groups([group])
        [described_group] = response.groups
        assert described_group[0] == 0  # error code
        assert described_group[2] == "Stable"
        assert len(described_group[5]) == 1  # one member
    finally:
        await member.stop()


async def test_static_member_restarts_without_a_rebalance(admin: AIOKafkaAdminClient) -> None:
    """group.instance.id (KIP-345, JoinGroup v5): a replica that restarts with its instance id
    gets its partitions back and the other member keeps its own, with no new generation."""
    topic = await new_topic(admin, 4)
    group = f"compat-{uuid.uuid4().hex[:8]}"
    a, b = group_consumer(topic, group, "replica-a"), group_consumer(topic, group, "replica-b")
    restarted: AIOKafkaConsumer | None = None
    stop = asyncio.Event()
    seen: list[tuple[int, int]] = []
    await a.start()
    await b.start()
    loop = asyncio.create_task(consume_and_commit(a, seen, stop))
    try:
        everything = {TopicPartition(topic, p) for p in range(4)}

        async def shared() -> bool | None:
            x, y = a.assignment(), b.assignment()
            return True if x and y and not x & y and x | y == everything else None

        await polling.until(shared, what="two static members sharing the partitions")
        generation = a._coordinator.generation
        owned_by_a, owned_by_b = a.assignment(), b.assignment()

        await b.stop()  # a static member sends no LeaveGroup: its partitions stay reserved
        restarted = group_consumer(topic, group, "replica-b")
        await restarted.start()

        async def back() -> bool | None:
            return True if restarted is not None and restarted.assignment() else None

        await polling.until(back, what="the restarted member's assignment")
        assert restarted.assignment() == owned_by_b
        await asyncio.sleep(4)  # longer than a heartbeat: a rebalance would show by now
        assert a.assignment() == owned_by_a
        assert a._coordinator.generation == generation
        assert restarted._coordinator.generation == generation
    finally:
        stop.set()
        await asyncio.gather(loop, return_exceptions=True)
        await a.stop()
        await b.stop()
        if restarted is not None:
            await restarted.stop()


async def test_read_committed_hides_aborted_transactions(admin: AIOKafkaAdminClient) -> None:
    """Not used by the runtime (its exactly-once lives in PostgreSQL), but the consumers read
    with isolation_level=read_committed, so it is checked: aiokafka sends the transaction
    requests at v0 only, which 4.3.1 still accepts (KIP-890's transaction v2 is not used)."""
    topic = await new_topic(admin, 1)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.KAFKA, transactional_id=f"compat-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-1")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-2")
    finally:
        await producer.stop()
    assert [r.value for r in await read_all(topic, 2)] == [b"committed-1", b"committed-2"]
