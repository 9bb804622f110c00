"""A work order's view row written by two transactions at once, on real PostgreSQL.

A department's reply stops the handling clock: dispatch's consume batch saves the work order
with the replied round and appends nothing. A route's command (here a sign-for) appends and
saves the row too. Whichever commits second must write from what the first committed, never
from what it read before: not the sign-for's stage lost under an older stream, nor the
reply's round lost under a route that read it before the batch's commit. A batch that
appends (a withdrawal) beside a command locks the row first too: it waits for the command
and decides on what it committed, in one go.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import Response
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import commands, handlers, views
from dispatch_service.main import MIGRATIONS
from dispatch_service.routes import department
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import work_orders
from shared import events
from shared.runtime import metrics
from shared.runtime.auth import Principal
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.database import Database
from shared.runtime.running import Runtime
from tests.integration.test_dispatch_round_trips import _record, seeded_consume_loop
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration


@dataclass
class Dispatch:
    runtime: Runtime[DispatchSettings]
    loop: ConsumeLoop

    async def assigned(self) -> events.Handled:
        """A work order assigned to water; the department's reply to it, not yet consumed."""
        received = factories.received()
        await self.loop._apply_batch([_record(factories.forwarded(received), 0)], asyncio.Event())
        return factories.handled(factories.assigned(received))

    @contextlib.asynccontextmanager
    async def batch_reading(self, fact: events.Event) -> AsyncIterator[BatchTx]:
        """A consume batch's transaction that has recorded the fact's inbox row and read its
        stream, as the consume loop's first statement does; committed at the block's end."""
        async with self.runtime.db.transaction(BatchTx) as tx:
            assert isinstance(tx, BatchTx)
            await tx.first_deliveries("dispatch", [fact.id], streams=[(fact.id, fact.subject)])
            yield tx

    async def stream(self, appeal_id: UUID) -> list[str]:
        async with self.runtime.db.read() as tx:
            return [fact.event.type for fact in await tx.load(appeal_id)]

    async def sign_for(self, appeal_id: UUID) -> tuple[views.WorkOrderView, str]:
        response = Response()
        answer = await department.sign_for(
            appeal_id,
            department.SignFor(person="李工"),
            self.runtime,
            Principal("department", frozenset({"workorders:act"}), "water"),
            response,
            if_match='"1"',
        )
        return answer, response.headers["ETag"]

    async def until_waiting(self) -> None:
        """Until a transaction waits on a lock another holds (the row, here)."""
        await infra.until_a_backend_waits_on_a_lock(
            self.runtime.settings.database_url.get_secret_value()
        )

    async def row(self, appeal_id: UUID) -> dict[str, Any]:
        async with self.runtime.db.read() as tx:
            found = await work_orders.get_work_order(tx, appeal_id)
        assert found is not None
        return found


@pytest.fixture
async def dispatch(servers: None) -> AsyncIterator[Dispatch]:
    url = await infra.fresh_database("t_races", MIGRATIONS)
    engine = create_async_engine(url, pool_size=4)
    db = Database(engine)
    loop = await seeded_consume_loop(db)
    yield Dispatch(Runtime(DispatchSettings(database_url=url), engine, db, MIGRATIONS), loop)
    await engine.dispose()


def _stands(row: dict[str, Any]) -> tuple[str, int, int]:
    return row["stage"], row["version"], row["handled_round"]


async def test_a_reply_consumed_after_a_sign_for_committed_saves_the_signed_for_order(
    dispatch: Dispatch,
) -> None:
    handled = await dispatch.assigned()
    # The batch reads the reply's stream at its start, as the consume loop does...
    async with dispatch.batch_reading(handled) as tx:
        # ...a sign-for commits meanwhile...
        await dispatch.sign_for(handled.subject)
        # ...and the reply stops the clock of the order as it now stands.
        await handlers.on_handled(handled, tx)
    assert _stands(await dispatch.row(handled.subject)) == ("signed_for", 2, 1)


async def test_a_sign_for_beside_a_reply_being_consumed_keeps_the_replied_round(
    dispatch: Dispatch,
) -> None:
    handled = await dispatch.assigned()
    async with dispatch.batch_reading(handled) as tx:
        await handlers.on_handled(handled, tx)
        await tx.flush()  # the clock stop written, not yet committed
        signing = asyncio.create_task(dispatch.sign_for(handled.subject))
        await dispatch.until_waiting()  # the sign-for reaches the row and waits for the commit
    answer, etag = await asyncio.wait_for(signing, 10)
    stored = await dispatch.row(handled.subject)
    assert _stands(stored) == ("signed_for", 2, 1)
    # The route answers with the row it saved: the reply's round, in its ETag too.
    assert answer.handled_this_round
    assert etag == views.etag(stored)


async def test_a_withdrawal_consumed_beside_a_sign_for_waits_for_it_and_is_refused(
    dispatch: Dispatch,
) -> None:
    handled = await dispatch.assigned()
    appeal_id = handled.subject
    withdrawal = events.WithdrawalRequested(
        id=uuid4(),
        subject=appeal_id,
        time=handled.time,
        actor="operator:li",
        correlation_id=handled.correlation_id,
        outcome="transferred",
        reason="transferred to 119",
        details={"line": "119", "mode": "one_click", "external_reference": "119-7"},
    )
    water = Principal("department", frozenset({"workorders:act"}), "water")
    retries = metrics.RETRIES.labels("dispatch")._value.get()
    async with dispatch.runtime.db.transaction() as tx:
        # The command holds the row (its first statement) when the batch comes...
        await work_orders.load_for_command(tx, appeal_id)
        consuming = asyncio.create_task(
            dispatch.loop._apply_batch([_record(withdrawal, 5, version=2)], asyncio.Event())
        )
        await dispatch.until_waiting()  # the batch reaches the row and waits for the commit
        # ...and appends: the batch has not taken the stream's next version meanwhile.
        await commands.sign_for(tx, appeal_id, person="李工", caller=water, expected_version=1)
    await asyncio.wait_for(consuming, 10)
    # The batch waited for the command's commit and decided once, on the signed-for order
    # (the department owns it now), not on the order it first read, to lose the race to
    # append and be redone.
    assert metrics.RETRIES.labels("dispatch")._value.get() == retries
    assert await dispatch.stream(appeal_id) == [
        "appeal.assigned",
        "appeal.signed_for",
        "appeal.withdrawal_refused",
    ]
    [(parked,)] = await infra.query(
        dispatch.runtime.settings.database_url.get_secret_value(),
        "SELECT count(*) FROM parked_messages",
    )
    assert parked == 0
