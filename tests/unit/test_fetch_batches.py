"""How the consume loop orders one fetch for its transaction (shared.runtime.deliveries)."""

from typing import NamedTuple

from aiokafka import TopicPartition

from shared.runtime.deliveries import assigned_only, in_produced_order


class Record(NamedTuple):
    name: str
    timestamp: int


def test_a_partition_revoked_since_the_fetch_is_left_to_its_new_owner() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    revoked, empty = TopicPartition("a", 2), TopicPartition("b", 1)
    fetched = {a0: [1, 2], b0: [10], a1: [3], revoked: [99], empty: []}

    assert assigned_only(fetched, {a0, a1, b0, empty}) == {a0: [1, 2], b0: [10], a1: [3]}


def test_records_apply_in_the_order_produced_across_topics() -> None:
    # dispatch's assignment (topic b) was caused by intake's filing (topic a), listed after
    intake, dispatch = TopicPartition("a", 3), TopicPartition("b", 3)
    fetched = {
        dispatch: [Record("assigned", 105), Record("closed", 140)],
        intake: [Record("received", 100), Record("rated", 120)],
    }

    order = [record.name for record in in_produced_order(fetched)]

    assert order == ["received", "assigned", "rated", "closed"]


def test_a_partitions_own_order_is_kept_whatever_its_timestamps() -> None:
    # two producers' clocks disagree: the log's order within a partition still rules
    mine, other = TopicPartition("a", 0), TopicPartition("b", 0)
    fetched = {mine: [Record("first", 200), Record("second", 100)], other: [Record("x", 150)]}

    order = [record.name for record in in_produced_order(fetched)]

    assert order.index("first") < order.index("second")
    assert sorted(order) == ["first", "second", "x"]
