"""How the consume loop cuts one fetch into transactions (shared.runtime.deliveries.by_topic)."""

from aiokafka import TopicPartition

from shared.runtime.deliveries import by_topic


def test_a_fetch_is_one_batch_per_topic_each_partition_in_its_order() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    revoked, empty = TopicPartition("a", 2), TopicPartition("b", 1)
    fetched = {a0: [1, 2], b0: [10], a1: [3], revoked: [99], empty: []}

    batches = by_topic(fetched, {a0, a1, b0, empty})

    assert batches == [{a0: [1, 2], a1: [3]}, {b0: [10]}]
    assert [list(batch) for batch in batches] == [[a0, a1], [b0]]  # the fetch's order kept
