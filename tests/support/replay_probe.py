"""`python -m tests.support.replay_probe DATABASE_URL`: one whole replay (rebuild from offset 0,
streamed comparison, chains verified) in a process of its own, so its peak resident memory
is the replay's alone; prints a JSON line with what it read and its memory."""

import asyncio
import json
import resource
import sys
import time

from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import replay, store
from tests.support import infra


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


async def main(url: str) -> None:
    engine = create_async_engine(url)
    try:
        # Connections, Kafka metadata and first imports before the baseline: not replay work.
        replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
        baseline, started = _peak_kib(), time.perf_counter()
        await replay.run(
            engine, infra.KAFKA, replay_id=replay_id, schema_name=schema_name, end_offsets=ends
        )
        seconds = time.perf_counter() - started
        async with engine.connect() as conn:
            row = await store.get_replay(conn, replay_id)
    finally:
        await engine.dispose()
    assert row is not None
    print(
        json.dumps(
            {
                "status": row["status"],
                "facts_read": row["facts_read"],
                "appeals": row["report"].get("appeals"),
                "seconds": round(seconds, 1),
                "baseline_kib": baseline,
                "peak_kib": _peak_kib(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
