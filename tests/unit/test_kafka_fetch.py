"""A consumer whose loop lingers asks the broker to gather its fetches as long; one that does
not (dispatch's, on the way from a filing to its assignment) is answered at the first record."""

from shared.runtime import kafka


async def test_a_lingering_consumer_lets_the_broker_gather_a_fetch() -> None:
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
