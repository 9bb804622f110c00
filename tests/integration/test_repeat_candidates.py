"""What a new appeal may repeat, on real PostgreSQL: open, unmerged appeals in the window
from the same phone or at the same address in the same category, newest first, each once;
and the search reads about `limit` rows per way however many appeals share the address."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from intake_service.store import filed
from shared.runtime.eventstore import Database
from tests.unit import factories

pytestmark = pytest.mark.integration

PHONE, ADDRESS, CATEGORY = "p" * 64, "a" * 64, "water.outage"
SINCE = factories.T0 - timedelta(days=30)


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
    async with db.transaction() as tx:
        return await filed.repeat_candidates(
            tx,
            category=CATEGORY,
            since=SINCE,
            limit=3,
            **{"phone_index": None, "address_index": None} | by,
        )


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
        await tx.driver.execute(
            """INSERT INTO appeals (id, received_at, channel, appeal_type, category, status,
                status_at, received, phone_index, address_index)
            SELECT gen_random_uuid(), $1::timestamptz - n * interval '1 minute', 'phone',
                'complaint', $2, 'assigned', $1, '{}', md5(n::text) || md5(n::text),
                CASE WHEN n % 10 = 0 THEN $3 ELSE md5((-n)::text) || md5((-n)::text) END
            FROM generate_series(1, 3000) AS n""",
            factories.T0,
            CATEGORY,
            ADDRESS,
        )
    await _appeal(db, factories.T0, phone=PHONE)
    arguments = (SINCE, 3, PHONE, ADDRESS, CATEGORY)
    async with db.transaction() as tx:
        # Planned as a prepared statement's generic plan, and for these values.
        for mode in ("force_generic_plan", "force_custom_plan"):
            await tx.driver.execute(f"SET LOCAL plan_cache_mode = {mode}")
            plan = await tx.driver.fetchval(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + filed._REPEATS_BY_PHONE_OR_ADDRESS, *arguments
            )
            scans = list(_scans(plan[0]["Plan"]))  # the driver decodes json
            assert all("Index" in node["Node Type"] for node in scans), (mode, scans)
            read = sum(
                node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in scans
            )
            assert read <= 3 + 3 + 2, (mode, scans)


def _scans(node: dict[str, Any]) -> Any:
    """Every node of a plan that reads the appeals table."""
    if node.get("Relation Name") == "appeals":
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
