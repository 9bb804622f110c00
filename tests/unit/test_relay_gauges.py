"""The relay's gauges tell an outage as it is: a replica that never takes the role shows
`relay_active` 0 (not nothing), and a relay whose every send fails still refreshes the
backlog's age, which is what the OutboxStuck alert watches."""

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from shared.runtime import faults, outbox


def _relay(service: str) -> outbox.OutboxRelay:
    return outbox.OutboxRelay(
        engine=None,  # type: ignore[arg-type]  # nothing here reaches the database
        make_producer=lambda: None,
        service=service,
        topic="t",
        crash=faults.CrashPoints(None),
    )


async def test_a_replica_that_never_takes_the_role_shows_zero() -> None:
    stopped = asyncio.Event()
    stopped.set()
    await _relay("standby-test").run(stopped)
    assert (
        REGISTRY.get_sample_value("hotline_outbox_relay_active", {"service": "standby-test"}) == 0
    )


async def test_a_relay_whose_sends_fail_refreshes_the_backlog_all_the_same() -> None:
    relay, stopping, exported = _relay("failing-test"), asyncio.Event(), []

    async def refused(_: Any) -> None:
        raise ConnectionError("NOT_ENOUGH_REPLICAS")

    async def export() -> None:
        exported.append(True)
        stopping.set()

    relay._hold_role_and_publish = refused  # type: ignore[method-assign,assignment]
    relay._export_backlog = export  # type: ignore[method-assign]
    await asyncio.wait_for(relay.run(stopping), timeout=10)
    assert exported == [True]
