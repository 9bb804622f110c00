"""`python -m audit_service.replay_part`: one share of a replay's partitions read and written
in a process of its own (`replay.rebuild` starts it). The job comes as JSON on standard
input; the number of facts written goes to standard output."""

import asyncio
import json
import sys
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import replay


async def _part(job: dict[str, Any]) -> int:
    engine = create_async_engine(job["url"], pool_size=2)
    try:
        return await replay.rebuild_part(
            engine,
            job["bootstrap"],
            job["schema_name"],
            job["ends"],
            job["replay_id"],
            job["part"],
            job["parts"],
        )
    finally:
        await engine.dispose()


def main() -> None:
    print(asyncio.run(_part(json.loads(sys.stdin.buffer.read()))))


if __name__ == "__main__":
    main()
