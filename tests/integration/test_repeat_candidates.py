"""What a new appeal may repeat, on real PostgreSQL: open, unmerged appeals in the window
from the same phone or at the same address in the same category, newest first, each once;
and the search reads about `limit` rows per way however many appeals share the address."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service.main import MIGRATIONS
from intake_service.store import filed
from shared.runtime.database import Database
from tests.support import infra, polling
from tests.unit import factories

pytestmark = pytest.mark.integration

PHONE, ADDRESS, CATEGORY = "p" * 64, "a" * 64, "water.outage"
SINCE = factories.T0 - timedelta(days=30)
# The search by phone or address for three, as PostgreSQL is given it (the limit written in).
SEARCH = filed._repeats_sql(phone=True, address=True, limit=3)


async def _appeal(
    db: Database,
    at: datetime,
    *,
    phone: str | None = None,
    address: str | None = None,
    category: str = CATEGORY,
    status: str = "assigned",
    merged_into: UUID | None = None,
) -> UUID:
    appeal_id = uuid4()
    async with db.transaction() as tx:
        await tx.driver.execute(
            """INSERT INTO appeals (id, received_at, channel, appeal_type, category, status,
                status_at, received, phone_index, address_index, merged_into)
            VALUES ($1, $2, 'phone', 'complaint', $3, $4, $2, '{}', $5, $6, $7)""",
            appeal_id,
            at,
            category,
            status,
            phone,
            address,
            merged_into,
        )
    return appeal_id


async def _candidates(db: Database, **by: Any) -> list[UUID]:
    """The search as a filing's row runs it (`filed.RepeatSearch`), on its own."""
    search = filed.RepeatSearch(
        **{"phone_index": None, "address_index": None} | by,
        category=CATEGORY,
        since=SINCE,
        limit=3,
    )
    statement = search.statement()
    if statement is None:
        return []
    async with db.read() as tx:
        return [row["id"] for row in await tx.driver.fetch(statement, *search.args())]


async def test_newest_open_appeals_by_phone_or_address_each_once(db: Database) -> None:
    at = [factories.T0 - timedelta(hours=hours) for hours in range(10)]
    both = await _appeal(db, at[1], phone=PHONE, address=ADDRESS)
    by_phone = await _appeal(db, at[2], phone=PHONE)
    by_address = await _appeal(db, at[3], address=ADDRESS)
    older = await _appeal(db, at[5], phone=PHONE)
    # Not repeats: closed, merged, another category, another phone, before the window.
    await _appeal(db, at[0], phone=PHONE, status="closed")
    await _appeal(db, at[0], address=ADDRESS, merged_into=both)
    await _appeal(db, at[0], address=ADDRESS, category="roads.pothole")
    await _appeal(db, at[0], phone="q" * 64)
    await _appeal(db, SINCE - timedelta(seconds=1), phone=PHONE)

    assert await _candidates(db, phone_index=PHONE, address_index=ADDRESS) == [
        both,
        by_phone,
        by_address,
    ]
    assert await _candidates(db, phone_index=PHONE) == [both, by_phone, older]
    assert await _candidates(db, address_index=ADDRESS) == [both, by_address]
    assert await _candidates(db) == []


async def test_the_search_stops_at_the_limit_at_a_busy_address(db: Database) -> None:
    # A city's worth of open appeals, one in ten at the same address (a burst main), each
    # from a phone of its own, and no statistics yet (a table that has just grown, before
    # autovacuum has looked): the old search joined the phone's index with an index entry
    # per appeal ever filed, then read every appeal at the address.
    async with db.transaction() as tx:
        await _fill(tx.driver, 3000, at_address_every=10)
    await _appeal(db, factories.T0, phone=PHONE)
    arguments = (SINCE, PHONE, ADDRESS, CATEGORY)
    async with db.transaction() as tx:
        # Planned as a prepared statement's generic plan, and for these values.
        for mode in ("force_generic_plan", "force_custom_plan"):
            await tx.driver.execute(f"SET LOCAL plan_cache_mode = {mode}")
            plan = await tx.driver.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + SEARCH, *arguments)
            scans = list(_scans(plan[0]["Plan"]))  # the driver decodes json
            assert all("Index" in node["Node Type"] for node in scans), (mode, scans)
            read = sum(
                node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in scans
            )
            assert read <= 3 + 3 + 2, (mode, scans)


async def test_a_plan_cached_while_the_table_was_small_is_made_again_as_it_grows(
    servers: None,
) -> None:
    # A connection prepares the search while the table holds a hundred appeals, and
    # PostgreSQL keeps the generic plan it costed then (after five runs): the category's
    # index, then sorting. Thousands of filings at one address later that plan reads every
    # appeal in the category, until autovacuum analyzes the table and the plan is made
    # again. The local stack has autovacuum look every 10 s (services/postgres.sh), not
    # every minute, as its databases all start empty and fill fast.
    for _ in range(3):  # again on a fresh table if autovacuum came before the premise held
        url = await infra.fresh_database("t_repeat_plans", MIGRATIONS)
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                if await _replanned_as_it_grows(driver):
                    return
        finally:
            await engine.dispose()
    pytest.fail("autovacuum analyzed the table before the premise could be checked, thrice")


async def _replanned_as_it_grows(driver: Any) -> bool:
    analyzed = "SELECT last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'appeals'"
    await _fill(driver, 100)
    await driver.execute("PREPARE repeats AS " + SEARCH)
    # EXECUTE takes no bind parameters: the test's own constants, written out.
    run = f"EXECUTE repeats('{SINCE.isoformat()}', '{PHONE}', '{ADDRESS}', '{CATEGORY}')"
    for _ in range(6):
        await driver.fetch(run)
    await _fill(driver, 3000, after=100)

    async def read() -> int:
        plan = await driver.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + run)
        scans = list(_scans(plan[0]["Plan"]))
        return sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in scans)

    before = await read()
    if await driver.fetchval(analyzed):
        return False
    assert before > 3000  # the premise: the plan made for a hundred appeals reads them all
    # 10 s between autovacuum's looks (services/postgres.sh; the default minute fails here).
    # The wait allows more: every earlier test's database is autovacuum's to visit too, and
    # its three workers can all be busy elsewhere on a loaded box (25 s once ran out).
    assert await driver.fetchval("SHOW autovacuum_naptime") == "10s"
    await polling.until(lambda: driver.fetchval(analyzed), deadline_seconds=60, what="analyze")
    assert await read() <= 3 + 3 + 2
    return True


async def _fill(driver: Any, count: int, *, after: int = 0, at_address_every: int = 1) -> None:
    """`count` open appeals in the category, a minute apart back from T0 (behind `after`
    earlier ones), each from a phone of its own; every `at_address_every`-th at ADDRESS."""
    await driver.execute(
        """INSERT INTO appeals (id, received_at, channel, appeal_type, category, status,
            status_at, received, phone_index, address_index)
        SELECT gen_random_uuid(), $1::timestamptz - n * interval '1 minute', 'phone',
            'complaint', $2, 'assigned', $1, '{}', md5(n::text) || md5(n::text),
            CASE WHEN n % $4 = 0 THEN $3 ELSE md5((-n)::text) || md5((-n)::text) END
        FROM generate_series($5 + 1, $5 + $6) AS n""",
        factories.T0,
        CATEGORY,
        ADDRESS,
        at_address_every,
        after,
        count,
    )


def _scans(node: dict[str, Any]) -> Any:
    """Every node of a plan that reads the appeals table."""
    if node.get("Relation Name") == "appeals":
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
