"""Bad messages on a topic are parked with their reason and counted; the consumer goes on."""

import re

import httpx
import pytest

from shared import envelope, topics
from shared.runtime import kafka
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer
from tests.unit import factories

pytestmark = pytest.mark.e2e


async def test_undecodable_and_forged_messages_are_parked_and_the_loop_goes_on(
    stack: Stack,
) -> None:
    forged = factories.assigned(factories.received())  # dispatch's fact on intake's topic
    producer = kafka.producer(infra.KAFKA, client_id="test-poison")
    await producer.start()
    try:
        await producer.send_and_wait(topics.INTAKE, b"{not json", key=b"poison")
        await producer.send_and_wait(
            topics.INTAKE,
            envelope.encode(forged, version=1, prev_hash=envelope.GENESIS_HASH).body,
            key=str(forged.subject).encode(),
        )
    finally:
        await producer.stop()
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=bearer(*OPERATOR)
        )
        appeal_id = created.json()["id"]

        async def assigned() -> bool | None:
            response = await client.get(
                f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", headers=bearer(*OPERATOR)
            )
            return True if response.status_code == 200 else None

        await polling.until(assigned, what="the appeal after the poison to be assigned")
        metrics = (await client.get(f"{stack.dispatch.url}/metrics")).text

    rows = await infra.query(
        processes.database_url(stack.dispatch),
        "SELECT key, reason FROM parked_messages WHERE key IN (:a, :b)",
        a=b"poison",
        b=str(forged.subject).encode(),
    )
    reasons = dict(rows)
    assert "JSON" in str(reasons[b"poison"])
    assert "appeal.assigned from dispatch on hotline.intake.events.v1" in str(
        reasons[str(forged.subject).encode()]
    )
    # Other tests share the topics, so these count at least ours.
    assert _counted(metrics, "undecodable") >= 1
    assert _counted(metrics, "wrong_topic") >= 1


def _counted(metrics: str, reason: str) -> float:
    pattern = rf'hotline_consumer_parked_total{{reason="{reason}",service="dispatch"}} (\S+)'
    found = re.search(pattern, metrics)
    return float(found.group(1)) if found else 0.0
