"""The fetch settings a consumer is made with: one whose loop lingers asks the broker to gather
its fetches as long; one that does not (dispatch's, on the way from a filing to its
assignment) asks to be answered at the first record. Settings only: no broker here."""

from shared import topics
from shared.runtime import kafka


async def test_a_lingering_consumer_is_given_gathering_fetch_settings_a_prompt_one_is_not() -> None:
    lingering = kafka.consumer(
        "k:9092", group="audit", instance_id=None, subscribe=["t"], linger_ms=50
    )
    prompt = kafka.consumer("k:9092", group="dispatch", instance_id=None, subscribe=["t"])
    try:
        assert (lingering._fetch_min_bytes, lingering._fetch_max_wait_ms) == (
            kafka.FETCH_GATHER_BYTES,
            50,
        )
        assert prompt._fetch_min_bytes == 1  # answered as soon as a record is there
    finally:
        await lingering.stop()
        await prompt.stop()


async def test_a_member_far_behind_holds_little_fetched_ahead() -> None:
    """audit reads every partition of every topic: a catch-up fetches from all of them at
    once, and what one fetch holds stays as the process's resident size afterwards."""
    member = kafka.consumer("k:9092", group="audit", instance_id=None, subscribe=topics.ALL)
    try:
        every_partition = len(topics.ALL) * topics.PARTITIONS
        per_fetch = min(
            member._fetch_max_bytes, every_partition * member._max_partition_fetch_bytes
        )
        assert per_fetch <= 2 << 20  # aiokafka's defaults would allow 36 MB here
    finally:
        await member.stop()
