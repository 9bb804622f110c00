"""How PostgreSQL plans the consume batch's first statement (shared.runtime.batch): the
inbox rows and, in the same round trip, the streams of the facts that were first
deliveries. On a table without statistics yet (one that has just grown, before autovacuum
has looked), a batch's streams must still be found by the index, not by reading every
fact the service ever recorded."""

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service.main import MIGRATIONS
from shared.runtime import batch
from tests.support import infra

pytestmark = pytest.mark.integration

FACTS = 200_000
BATCH = 20  # a steady rate's batch: a few facts from each of several partitions


async def test_a_batchs_streams_are_read_by_the_index_on_a_table_without_statistics(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_batch_plans", MIGRATIONS)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            await driver.execute(
                """INSERT INTO events (event_id, stream_id, version, type, body, hash, prev_hash)
                SELECT gen_random_uuid(), stream_id, version, 'appeal.assigned', 'x', 'h', 'p'
                FROM (SELECT gen_random_uuid() AS stream_id FROM generate_series(1, $1)) AS s,
                    generate_series(1, 4) AS version""",
                FACTS // 4,
            )
            known = await driver.fetchval("SELECT stream_id FROM events LIMIT 1")
            facts = [uuid.uuid4() for _ in range(BATCH)]
            streams = [known, *(uuid.uuid4() for _ in range(BATCH - 1))]
            statement = (
                batch._inbox_and_streams(None)
                .text.replace(":group", "$1")
                .replace(":ids", "$2")
                .replace(":facts", "$3")
                .replace(":streams", "$4")
            )
            for mode in ("force_generic_plan", "force_custom_plan"):
                async with driver.transaction():
                    await driver.execute(f"SET LOCAL plan_cache_mode = {mode}")
                    plan = await driver.fetchval(
                        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, "g", facts, facts, streams
                    )
                    scans = list(_scans(plan[0]["Plan"]))  # the driver decodes json
                    assert scans, plan
                    assert all("Index" in node["Node Type"] for node in scans), (mode, scans)
    finally:
        await engine.dispose()


def _scans(node: dict[str, Any]) -> Any:
    """Every node of a plan that reads the events table."""
    if node.get("Relation Name") == "events":
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
