"""audit's historical queue against real PostgreSQL: a department asked to assist the holder
finds the order among the appeals given to it, on the ask's own deadline (as recomputed)
and state at the moment asked, beside the lead's holding, from the facts recorded by then."""

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import domain, store
from audit_service.domain import queues
from shared import events, topics
from shared.runtime.consumer import Delivery
from tests.integration.test_tamper import audit
from tests.unit import factories

pytestmark = pytest.mark.integration
__all__ = ["audit"]
T0 = factories.T0


def _at(base: events.Event, cls: type[events.Event], hours: float, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=T0 + timedelta(hours=hours),
        actor="service:dispatch",
        correlation_id=base.correlation_id,
        **data,
    )


def _deliveries(history: list[events.Event]) -> list[Delivery]:
    return [
        Delivery(recorded, topics.BY_SOURCE[recorded.source], 0, offset)
        for offset, recorded in enumerate(factories.chained(history))
    ]


async def _record(engine: AsyncEngine, history: list[events.Event]) -> datetime:
    async with engine.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for d in _deliveries(history)])
    async with engine.connect() as conn:
        [(_, recorded_at)] = (await store.appeal_facts(conn, history[-1].subject))[-1:]
    return recorded_at


async def _queue(engine: AsyncEngine, department: str, at: datetime) -> dict[str, Any]:
    """What the route shows: the lead's holdings, and the asks to assist (as the route does)."""
    shown: dict[str, Any] = {}
    async with engine.connect() as conn:
        for appeal_id in await store.appeals_given_to(conn, department, at):
            recorded = await store.appeal_facts(conn, appeal_id, known_at=at)
            timeline = domain.timeline(fact for fact, _ in recorded)
            held = queues.holding(timeline, at)
            if held is None:
                continue
            if held.department == department:
                shown[str(appeal_id)] = ("lead", held)
            elif (asked := queues.assisting(timeline, at, department)) is not None:
                shown[str(appeal_id)] = ("assisting", asked)
    return shown


async def test_the_assisting_departments_queue_lists_the_order_it_assists(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    assigned = factories.assigned(factories.received())
    ask = _at(
        assigned,
        events.AssistRequested,
        0,
        department="urban-east",
        lead="water",
        due=T0 + timedelta(hours=72),
        policy_version=1,
        calendar="chinese-calendar-1.11.0",
        provisional_years=(2027,),
    )
    asked_at = await _record(runtime, [assigned, ask])
    moved = _at(
        assigned,
        events.AssistDeadlineRecomputed,
        2,
        department="urban-east",
        years=(2027,),
        previous_due=T0 + timedelta(hours=72),
        due=T0 + timedelta(hours=96),
        policy_version=1,
        calendar="chinese-calendar-1.11.0+published.1",
    )
    async with runtime.begin() as conn:
        # the next fact of the same chain, recorded later
        await store.add_facts(conn, [store.fact_row(_deliveries([assigned, ask, moved])[-1])])
    now = datetime.now(T0.tzinfo) + timedelta(seconds=1)

    [(role, then)] = (await _queue(runtime, "urban-east", asked_at)).values()
    assert role == "assisting"
    assert (then.lead, then.due, then.facts) == (
        "water",
        (T0 + timedelta(hours=72)).isoformat(),  # as it stood then: before the recompute
        (str(ask.id),),
    )
    [(role, later)] = (await _queue(runtime, "urban-east", now)).values()
    assert (role, later.due) == ("assisting", (T0 + timedelta(hours=96)).isoformat())
    assert later.facts == (str(ask.id), str(moved.id))
    # the lead's queue shows its holding as lead; a department never asked sees nothing
    [(role, held)] = (await _queue(runtime, "water", now)).values()
    assert (role, held.department) == ("lead", "water")
    assert await _queue(runtime, "parks", now) == {}
