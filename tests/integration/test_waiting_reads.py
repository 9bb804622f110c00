"""Waiting GETs (`Prefer: wait`, shared.runtime.changes) on real PostgreSQL, across
processes: feedback runs as a web process of its own, and this test commits the changes in
its database as the consume loop and a command would (the loop's per-batch NOTIFY, an
append's). A waiting GET answers soon after the change, answers 304 with the state unchanged
at its bound, and a process holds no more waiting GETs than it is allowed."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import measure
from feedback_service import handlers
from services.processes import ServiceProcess
from shared import events
from shared.runtime import changes
from shared.runtime.database import Database
from tests.support import polling, processes
from tests.unit import factories

pytestmark = pytest.mark.integration
MAX_WAITING = 2
# A held request answered within this much of a change was woken by its NOTIFY: the backstop
# re-read comes BACKSTOP_SECONDS after the request's last read, and the tests change the
# resource moments after that read. A slow box delays the wake-up without failing the test.
WOKEN_WITHIN = changes.BACKSTOP_SECONDS / 2


@pytest.fixture
async def feedback(servers: None) -> AsyncIterator[ServiceProcess]:
    service = await processes.make("feedback")
    service.start(HOTLINE_PROCESS_ROLE="web", HOTLINE_MAX_WAITING_REQUESTS=str(MAX_WAITING))
    try:
        await service.ready()
        yield service
    finally:
        service.stop()


async def test_a_waiting_get_answers_at_the_change_and_at_its_bound(
    feedback: ServiceProcess,
) -> None:
    engine = create_async_engine(processes.database_url(feedback))
    db = Database(engine)
    assigned = factories.assigned(factories.received())
    appeal_id = assigned.subject
    path = f"/v1/appeals/{appeal_id}/feedback"
    operator = processes.bearer(*processes.OPERATOR)
    try:
        async with db.transaction() as tx:
            await handlers.on_assigned(assigned, tx)
        async with httpx.AsyncClient(base_url=feedback.url, headers=operator, timeout=30) as http:
            first = await http.get(path)
            assert first.status_code == 200
            assert first.json()["signed_for"] is False
            held = first.headers["ETag"]
            wait = {"If-None-Match": held, "Prefer": "wait=10"}

            # Unchanged: held to its bound, then 304 with the same ETag.
            began = time.perf_counter()
            unchanged = await http.get(path, headers={**wait, "Prefer": "wait=1"})
            assert unchanged.status_code == 304, unchanged.text
            assert unchanged.headers["ETag"] == held
            assert unchanged.headers["Preference-Applied"] == "wait=1"
            assert time.perf_counter() - began >= 1.0

            # Changed by another process (the consume loop's way): answered at the commit.
            waiting = asyncio.create_task(http.get(path, headers=wait))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            async with db.transaction() as tx:
                signed_for = factories.dispatch_facts(assigned)[1]
                assert isinstance(signed_for, events.SignedFor)
                await handlers.on_signed_for(signed_for, tx)
                await tx.notify_changed([appeal_id])
            answer = await _woken(waiting)
            assert answer.status_code == 200
            assert answer.json()["signed_for"] is True
            assert answer.headers["ETag"] != held

            # Bounded: past MAX_WAITING held requests, 503 problem+json with Retry-After.
            now_held = {"If-None-Match": answer.headers["ETag"], "Prefer": "wait=5"}
            holders = [asyncio.create_task(http.get(path, headers=now_held)) for _ in range(2)]
            await asyncio.sleep(0.5)
            refused = await http.get(path, headers=now_held)
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["Retry-After"] == "1"
            # Without Prefer: wait it is answered at once all the same.
            assert (await http.get(path)).status_code == 200
            # A fact appended to the stream (a command's way) wakes both held requests.
            async with db.transaction() as tx:
                await tx.append(appeal_id, [factories.handled(assigned)], expected_version=0)
            for held_request in await asyncio.gather(*holders):
                assert held_request.status_code == 200
                assert held_request.json()["handled_by"] == "water"
    finally:
        await engine.dispose()


async def test_a_waiting_get_on_a_work_order_not_yet_there_answers_404_at_its_bound(
    servers: None,
) -> None:
    dispatch = await processes.make("dispatch")
    dispatch.start(HOTLINE_PROCESS_ROLE="web")
    try:
        await dispatch.ready()
        operator = processes.bearer(*processes.OPERATOR)
        async with httpx.AsyncClient(base_url=dispatch.url, headers=operator, timeout=30) as http:
            path = f"/v1/work-orders/{factories.received().subject}"
            began = time.perf_counter()
            absent = await http.get(path, headers={"Prefer": "wait=1"})
            assert absent.status_code == 404
            assert absent.headers["content-type"] == "application/problem+json"
            assert absent.headers["Preference-Applied"] == "wait=1"
            assert time.perf_counter() - began >= 1.0
            at_once = await http.get(path)
            assert at_once.status_code == 404
            assert "Preference-Applied" not in at_once.headers  # no wait asked, none made
    finally:
        dispatch.stop()


async def test_a_waiting_get_outlives_its_process_losing_the_listening_connection(
    feedback: ServiceProcess,
) -> None:
    """The LISTEN session ends (PostgreSQL restarted, a network cut): the waiters read again
    and listen anew, so a change after it still answers them at once, not at the backstop
    re-read (BACKSTOP_SECONDS while listening)."""
    url = processes.database_url(feedback)
    engine = create_async_engine(url)
    db = Database(engine)
    assigned = factories.assigned(factories.received())
    path = f"/v1/appeals/{assigned.subject}/feedback"
    try:
        async with db.transaction() as tx:
            await handlers.on_assigned(assigned, tx)
        async with httpx.AsyncClient(
            base_url=feedback.url, headers=processes.bearer(*processes.OPERATOR), timeout=30
        ) as http:
            held = (await http.get(path)).headers["ETag"]
            wait = {"If-None-Match": held, "Prefer": f"wait={changes.MAX_WAIT_SECONDS}"}
            owner = await asyncpg.connect(measure.dsn(url))
            try:
                waiting = asyncio.create_task(http.get(path, headers=wait))
                # The waiting GET opens the process's LISTEN session (its first wait)...
                lost = await _listening(owner)
                ended = await owner.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
                assert ended == 1
                # ...and, woken by its loss, reads again and listens anew.
                await _listening(owner, other_than=lost)
            finally:
                await owner.close()
            assert not waiting.done()  # read again, found unchanged, waiting again
            async with db.transaction() as tx:
                await tx.append(assigned.subject, [factories.handled(assigned)], expected_version=0)
            answer = await _woken(waiting)
            assert answer.status_code == 200
            assert answer.json()["handled_by"] == "water"
    finally:
        await engine.dispose()


async def _woken(waiting: asyncio.Task[httpx.Response]) -> httpx.Response:
    """The held request's answer to a change just committed, if its NOTIFY wakes it."""
    try:
        return await asyncio.wait_for(waiting, WOKEN_WITHIN)
    except TimeoutError:
        raise AssertionError(
            f"the held request was not woken within {WOKEN_WITHIN}s of the change: only the"
            " backstop re-read would answer it, so the NOTIFY did not"
        ) from None


async def _listening(owner: asyncpg.Connection, *, other_than: int | None = None) -> int:
    """The pid of the process's LISTEN session (one other than `other_than`), once open."""

    async def probe() -> int | None:
        pids = await owner.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> $1",
            other_than or 0,
        )
        return int(pids[0]["pid"]) if pids else None

    return await polling.until(probe, deadline_seconds=10, what="a session to LISTEN")
