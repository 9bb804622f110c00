"""The checks of every live row beside a replay's pass (audit_service/live_checks.py), on a
real database, against the comparison that reads every row back from its bytes
(comparison.compare_in_place): the same report where they vouch for the store, and no
report (the comparison decides) wherever a row is not what audit sealed."""

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import comparison, domain, live_checks, store
from audit_service.store import in_place as in_place_store
from shared import envelope, events, topics
from shared.runtime.consumer import Delivery
from tests.integration.test_tamper import _deliveries, audit
from tests.support import tampering
from tests.unit import factories

pytestmark = pytest.mark.integration
__all__ = ["audit"]  # the fixture

ENDS = {f"{t}:0": 10**6 for t in topics.ALL}
ENDS_ = store.ends_of(ENDS)


async def _checked(engine: AsyncEngine) -> dict[str, Any] | None:
    async with store.one_snapshot(engine, 3) as conns:
        checked = await live_checks.report(conns, ENDS)
    return None if checked is None else checked[1]


async def _compared(engine: AsyncEngine) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        rows = int((await conn.execute(text("SELECT count(*) FROM facts"))).scalar_one())
    return await comparison.compare_in_place(engine, ENDS, rows=rows)


async def _record(engine: AsyncEngine, appeals: Sequence[Sequence[Delivery]]) -> None:
    async with engine.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])


def _recorded(history: Sequence[events.Event], first_offset: int) -> list[Delivery]:
    """One appeal's facts, each source's chained, at offsets from `first_offset`."""
    return [
        Delivery(recorded, topics.BY_SOURCE[recorded.source], 0, first_offset + n)
        for n, recorded in enumerate(factories.chained(history))
    ]


async def test_the_checks_report_what_the_comparison_reports(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    await _record(runtime, _deliveries(4))

    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared
    assert checked["appeals"] == 4
    assert checked["broken_chains"] == 0


async def test_an_appeal_whose_cause_is_later_in_time_is_ordered_as_the_timeline_orders_it(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A department's clock behind the hotline's: the assignment's time comes before the
    appeal it was caused by. Its timeline is not its time order, and its digest says so."""
    runtime, _ = audit
    received, assigned, *rest = factories.full_history()
    early = assigned.model_copy(update={"time": received.time - timedelta(minutes=5)})
    await _record(runtime, [_recorded([received, early, *rest], first_offset=100)])

    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared


def _dispatched_twice(
    offsets: tuple[timedelta, timedelta], first_offset: int, mark: int, ids_first: bool = False
) -> list[Delivery]:
    """One appeal's facts, and its dispatch facts again as a second dispatch would publish
    them (say, one restored from a backup): new ids, which sort after the first's (before,
    `ids_first`), their times moved by `offsets`, versions 1 and 2 again."""
    history = factories.full_history()
    again = [e for e in history if e.source == "dispatch"]
    copies = [
        event.model_copy(
            update={
                "id": UUID(int=((0 if ids_first else 0xFFFF) << 112) + mark * 8 + n),
                "time": event.time + offset,
            }
        )
        for n, (event, offset) in enumerate(zip(again, offsets, strict=True))
    ]
    return _recorded(history, first_offset) + _recorded(copies, first_offset + 10)


async def test_an_appeal_whose_stream_is_not_in_time_order_is_digested_in_sql(
    audit: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second dispatch's copies, each half a second before its original, come after it in
    their stream: the timeline is not time order, and PostgreSQL orders it as the domain
    code does (store/in_place._APPEALS)."""
    monkeypatch.setattr(comparison, "LISTED", 0)  # no appeal read back from its bytes
    runtime, _ = audit
    half = timedelta(seconds=-0.5)
    await _record(runtime, [_dispatched_twice((half, half), first_offset=0, mark=1)])

    async with store.one_snapshot(runtime, 1) as (conn,):
        [[(subject, _, breaks, digest)]] = [c async for c in in_place_store.appeals(conn, ENDS_)]
        [facts] = (
            await in_place_store.appeals_below(conn, [subject], ENDS_, from_bytes=True)
        ).values()
    assert breaks == 1
    in_time_order = sorted(facts, key=lambda f: f.time)
    assert [f.event_id for f in in_time_order] != [f.event_id for f in domain.timeline(facts)]
    assert digest == domain.digest(domain.timeline(facts))
    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared


async def test_appeals_dispatched_twice_at_any_times_are_digested_as_the_comparison_does(
    audit: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies at times from long before to long after their originals: some causes then
    follow their effects, or are not the latest in their stream, and the domain code orders
    those appeals; the rest PostgreSQL does. Either way, the comparison's report."""
    monkeypatch.setattr(comparison, "LISTED", 0)
    runtime, _ = audit
    rng = random.Random(12345)
    minutes = [-600, -60, -1, 0, 1, 60, 600, 3000]
    await _record(
        runtime,
        [
            _dispatched_twice(
                (timedelta(minutes=rng.choice(minutes)), timedelta(minutes=rng.choice(minutes))),
                first_offset=20 * n,
                mark=n,
                ids_first=rng.random() < 0.5,
            )
            for n in range(40)
        ],
    )

    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared
    assert checked["appeals"] == 40


async def test_a_broken_chain_is_listed_as_the_comparison_lists_it(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    whole, broken = _deliveries(2)
    await _record(runtime, [whole, [d for d in broken if d.fact.event.type != "appeal.handled"]])

    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared
    assert checked["broken_chains"] == 1


async def test_past_the_listed_broken_chains_only_their_count_is_taken(
    audit: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comparison, "LISTED", 1)
    runtime, _ = audit
    appeals = _deliveries(3)
    await _record(
        runtime, [[d for d in read if d.fact.event.type != "appeal.handled"] for read in appeals]
    )

    checked, compared = await _checked(runtime), await _compared(runtime)
    assert checked is not None
    assert checked == compared
    assert (checked["broken_chains"], len(checked["broken"])) == (3, 1)


@pytest.mark.parametrize(
    "edit",
    [
        "actor = 'operator:someone-else'",  # a column its bytes copy
        "ingested_at = ingested_at - interval '1 day'",  # what only audit's seals prove
        "row_seal = NULL",  # recorded before row seals
        "row_seal = repeat('zz', 32)",  # no seal at all
    ],
)
async def test_a_row_not_as_audit_sealed_it_is_left_to_the_comparison(
    audit: tuple[AsyncEngine, AsyncEngine], edit: str
) -> None:
    runtime, owner = audit
    await _record(runtime, _deliveries(2))
    async with owner.begin() as conn:
        await conn.execute(text(f"UPDATE facts SET {edit} WHERE seq = 3"))

    assert await _checked(runtime) is None


async def test_postgresql_holds_a_new_store_to_its_bytes_and_row_digests(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """What spares a replay hashing every row and rendering every row's seal message: on
    the PostgreSQL services/postgres.sh runs, both are there as written."""
    runtime, _ = audit
    async with store.one_snapshot(runtime, 1) as (conn,):
        assert await in_place_store.bodies_hashed(conn)
        assert await in_place_store.digests_kept(conn)


async def test_a_row_digest_no_longer_generated_is_worked_out_by_the_checks(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """Its expression dropped, the column keeps what it was given: a row edited after that
    with its old digest kept would pass, were the digest read from it."""
    runtime, owner = audit
    await _record(runtime, _deliveries(2))
    async with owner.begin() as conn:
        await conn.execute(text("ALTER TABLE facts ALTER COLUMN row_digest DROP EXPRESSION"))
    async with store.one_snapshot(runtime, 1) as (conn,):
        assert not await in_place_store.digests_kept(conn)
    assert await _checked(runtime) is not None

    async with owner.begin() as conn:
        await conn.execute(text("UPDATE facts SET actor = 'operator:someone-else' WHERE seq = 3"))
        assert (
            await conn.execute(text("SELECT row_digest IS NOT NULL FROM facts WHERE seq = 3"))
        ).scalar()
    assert await _checked(runtime) is None


async def test_a_seal_message_with_any_text_is_rendered_as_audit_renders_it(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """Backslashes, "|", ":" and characters beyond ASCII in the one free text a row seal
    covers, its actor: PostgreSQL's digest of the row is audit's."""
    runtime, _ = audit
    [read] = _deliveries(1)
    odd = [
        Delivery(
            envelope.encode(
                d.fact.event.model_copy(update={"actor": "operator:王|\\x41:\\"}),
                version=d.fact.version,
                prev_hash=d.fact.prev_hash,
            ),
            d.topic,
            d.partition,
            d.offset,
        )
        for d in read
    ]
    await _record(runtime, [odd])
    assert await _checked(runtime) is not None


async def test_without_the_constraint_every_row_is_hashed_by_the_checks(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    await _record(runtime, _deliveries(2))
    async with owner.begin() as conn:
        await tampering.unchecked(conn)
    assert await _checked(runtime) is not None

    async with owner.begin() as conn:  # its bytes edited, its hash and seals as they were
        await conn.execute(text("UPDATE facts SET body = body || ' ' WHERE seq = 3"))
    assert await _checked(runtime) is None
    assert await _compared(runtime) is None
