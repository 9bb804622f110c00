"""A replay from offset 0 finds the live projection equal to the log, checked in place with
nothing rebuilt; a difference (a live row edited behind audit's back) makes it rebuild into
a fresh schema and report the difference by appeal, and the owner can switch over to it."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import switch_over as switching
from shared import topics
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes, tampering
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e


async def _audit_caught_up(stack: Stack) -> bool | None:
    ends = await infra.end_offsets(topics.ALL)
    committed = await infra.committed_offsets(processes.group(stack.audit))
    behind = [tp for tp, end in ends.items() if end > 0 and committed.get(tp, -1) < end]
    return None if behind else True


async def _replay(client: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    headers = bearer(*OPERATOR)
    started = await client.post(f"{stack.audit.url}/v1/replays", headers=headers)
    assert started.status_code == 202, started.text

    async def finished() -> dict[str, Any] | None:
        body = (
            await client.get(f"{stack.audit.url}{started.json()['href']}", headers=headers)
        ).json()
        return None if body["status"] == "running" else dict(body)

    return await polling.until(finished, what="the replay to finish")


async def test_a_replay_from_offset_zero_equals_the_live_projection(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for n in range(5):
            response = await client.post(
                f"{stack.intake.url}/v1/appeals",
                json={**APPEAL, "content": f"第{n}件"},
                headers=bearer(*OPERATOR),
            )
            assert response.status_code == 201
        await polling.until(lambda: _audit_caught_up(stack), what="audit to catch up")

        replay = await _replay(client, stack)

    assert replay["status"] == "equal", replay
    report = replay["report"]
    assert report["equal"] is True
    assert report["rebuilt"] is False
    assert report["appeals"] >= 5
    assert report["live_digest"] == report["replay_digest"]
    # Every message up to the end offsets was read, but for those live audit parked too.
    [(parked,)] = await infra.query(
        processes.database_url(stack.audit), "SELECT count(*) FROM parked_messages"
    )
    assert replay["facts_read"] == sum(replay["end_offsets"].values()) - parked


async def test_a_replay_reports_a_live_row_that_differs_from_the_log(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=bearer(*OPERATOR)
        )
        appeal_id = created.json()["id"]

        async def audit_holds_it() -> bool | None:
            # intake's relay publishes after the response: the end offsets alone may not
            # include the appeal yet, so wait for audit to have recorded its facts
            found = await infra.query(
                processes.database_url(stack.audit),
                "SELECT count(*) FROM facts WHERE subject = :s",
                s=appeal_id,
            )
            return found[0][0] >= 2 or None  # received and forwarded

        await polling.until(audit_holds_it, what="audit to record the appeal")
        await polling.until(lambda: _audit_caught_up(stack), what="audit to catch up")
        engine = create_async_engine(infra.owner_url(processes.database_url(stack.audit)))
        async with engine.begin() as conn:
            await tampering.unchecked(conn)
            edited = await conn.execute(
                text("UPDATE facts SET hash = repeat('0', 64) WHERE subject = :s"), {"s": appeal_id}
            )
            assert edited.rowcount >= 2  # the tampering this test is about did happen
        await engine.dispose()

        replay = await _replay(client, stack)

    assert replay["status"] == "different"
    assert replay["report"]["rebuilt"] is True
    assert appeal_id in replay["report"]["differing"]
    # The owner switches over to what the replay sealed: the edited rows are set right.
    owner = create_async_engine(infra.owner_url(processes.database_url(stack.audit)))
    try:
        record = await switching.switch_over(owner, replay["id"], by="operator:test")
    finally:
        await owner.dispose()
    assert record["replaced"] >= 2
