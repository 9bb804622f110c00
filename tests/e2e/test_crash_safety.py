"""SIGKILL at the worst moments (shared.runtime.faults), then restart: nothing accepted is
lost, nothing is applied twice."""

import signal

import httpx
import pytest

from services.processes import ServiceProcess
from shared import topics
from shared.runtime import faults
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
SIGKILLED = -9


async def _post_appeal(intake: ServiceProcess, key: str) -> httpx.Response | None:
    """None when the process died before it could answer (the crash may beat the reply)."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            return await client.post(
                f"{intake.url}/v1/appeals",
                json=APPEAL,
                headers={**bearer(*OPERATOR), "Idempotency-Key": key},
            )
        except httpx.TransportError:
            return None


async def _unpublished(service: ServiceProcess) -> int:
    [(count,)] = await infra.query(
        processes.database_url(service), "SELECT count(*) FROM events WHERE published_at IS NULL"
    )
    assert isinstance(count, int)
    return count


async def test_consumer_killed_between_db_commit_and_offset_commit_applies_once(
    servers: None,
) -> None:
    intake, dispatch = await processes.make("intake"), await processes.make("dispatch")
    await seed_routing(dispatch)
    intake.start()
    dispatch.start(HOTLINE_CRASH_AT=faults.CONSUMER_AFTER_DB_COMMIT)
    try:
        await intake.ready()
        # No wait for dispatch's readiness: with older facts on the topic its first batch (and
        # so its crash) may come before it ever answers.
        assert (await _post_appeal(intake, "consumer-crash")) is not None

        # It dies right after committing its first batch's effects, offsets not yet committed.
        assert await dispatch.exited() == SIGKILLED
        applied = {
            str(event_id)
            for (event_id,) in await infra.query(
                processes.database_url(dispatch), "SELECT event_id FROM processed_events"
            )
        }
        assert applied
        read = [m for m in await infra.read_topic(topics.INTAKE) if m.event_id in applied]
        committed = await infra.committed_offsets(processes.group(dispatch))
        assert all(committed.get((topics.INTAKE, m.partition), -1) <= m.offset for m in read)

        dispatch.start()  # same group and instance id: the records are delivered again
        await dispatch.ready()

        async def moved_past() -> bool | None:
            offsets = await infra.committed_offsets(processes.group(dispatch))
            done = all(offsets.get((topics.INTAKE, m.partition), -1) > m.offset for m in read)
            return True if done else None

        await polling.until(moved_past, what="the offsets to move past the redelivered records")
        assigned = await infra.query(
            processes.database_url(dispatch),
            "SELECT body::jsonb ->> 'causation_id', count(*) FROM events "
            "WHERE type = 'appeal.assigned' GROUP BY 1",
        )
        # Only forwarded appeals are assigned; the first batch may also hold other facts
        # (feedback's, or other tests' on the shared topics), applied without an assignment.
        forwarded = {m.event_id for m in read if m.fact.get("type") == "appeal.forwarded"}
        assert {cause: count for cause, count in assigned if cause in forwarded} == dict.fromkeys(
            forwarded, 1
        )
        inbox = await infra.query(
            processes.database_url(dispatch),
            "SELECT count(*), count(DISTINCT event_id) FROM processed_events",
        )
        assert inbox[0][0] == inbox[0][1]
    finally:
        intake.stop()
        dispatch.stop()


async def test_producer_killed_before_publishing_still_delivers_once(servers: None) -> None:
    intake = await processes.make("intake")
    intake.start(HOTLINE_CRASH_AT=faults.RELAY_BEFORE_SEND)
    try:
        await intake.ready()
        await _post_appeal(intake, "producer-crash")
        assert await intake.exited() == SIGKILLED
        assert await _unpublished(intake) == 2  # received and forwarded, not yet on Kafka

        intake.start()
        await intake.ready()
        answer = await _post_appeal(intake, "producer-crash")  # the client retries
        assert answer is not None
        assert answer.status_code == 201
        event_id = answer.json()["event_id"]

        await polling.until(lambda: _none_left(intake), what="the relay to drain")
        copies = [m for m in await infra.read_topic(topics.INTAKE) if m.event_id == event_id]
        assert len(copies) == 1
    finally:
        intake.stop()


async def _none_left(service: ServiceProcess) -> bool | None:
    return True if await _unpublished(service) == 0 else None


async def test_producer_killed_after_sending_republishes_and_consumers_apply_once(
    servers: None,
) -> None:
    intake, dispatch = await processes.make("intake"), await processes.make("dispatch")
    await seed_routing(dispatch)
    dispatch.start()
    intake.start(HOTLINE_CRASH_AT=faults.RELAY_AFTER_SEND)
    try:
        await dispatch.ready()
        await intake.ready()
        await _post_appeal(intake, "relay-crash")
        assert await intake.exited() == SIGKILLED
        [(event_id,)] = await infra.query(  # the fact dispatch reacts to
            processes.database_url(intake),
            "SELECT event_id FROM events WHERE type = 'appeal.forwarded'",
        )

        intake.start()
        await intake.ready()
        await polling.until(lambda: _none_left(intake), what="the relay to drain")
        copies = [m for m in await infra.read_topic(topics.INTAKE) if m.event_id == str(event_id)]
        assert len(copies) == 2  # at-least-once on the wire ...

        async def assigned() -> list[tuple[object, ...]] | None:
            rows = await infra.query(
                processes.database_url(dispatch),
                "SELECT count(*) FROM events WHERE body::jsonb ->> 'causation_id' = :cause",
                cause=str(event_id),
            )
            return rows if rows != [(0,)] else None

        await polling.until(assigned, what="dispatch to assign")

        async def both_read() -> bool | None:
            offsets = await infra.committed_offsets(processes.group(dispatch))
            done = all(offsets.get((topics.INTAKE, m.partition), -1) > m.offset for m in copies)
            return True if done else None

        await polling.until(both_read, what="dispatch to read both copies")
        assert await assigned() == [(1,)]  # ... exactly once in effect
    finally:
        intake.stop()
        dispatch.stop()


async def test_sigterm_drains_and_exits_cleanly(servers: None) -> None:
    dispatch = await processes.make("dispatch")
    await seed_routing(dispatch)
    dispatch.start()
    try:
        await dispatch.ready()
        assert dispatch.process is not None
        dispatch.process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why
        assert await dispatch.exited(deadline_seconds=30) == -signal.SIGTERM
        log = dispatch.log_file.read_text()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log
    finally:
        dispatch.kill()
