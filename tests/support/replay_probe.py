"""`python -m tests.support.replay_probe DATABASE_URL`: one whole replay (rebuild from offset 0,
streamed comparison, chains verified) in a process of its own, so its peak resident memory
is the replay's alone; prints a JSON line with what it read and its memory."""

import asyncio
import json
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import replay, store
from tests.support import infra


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class PeakDuring:
    """The largest resident size sampled while the block runs (every 20 ms, from a thread):
    the process's lifetime peak (`ru_maxrss`) would be start-up's when that is larger, and
    then a replay that grows with its facts would show no growth at all."""

    def __init__(self) -> None:
        self.peak_kib = _rss_kib()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak_kib = max(self.peak_kib, _rss_kib())

    def __enter__(self) -> "PeakDuring":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _rss_kib())


async def main(url: str) -> None:
    engine = create_async_engine(url)
    try:
        # Connections, Kafka metadata and first imports before the baseline: not replay work.
        replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
        baseline, started = _rss_kib(), time.perf_counter()
        with PeakDuring() as during:
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
                "peak_kib": during.peak_kib,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
