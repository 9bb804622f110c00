"""Takeover time: how long after a replica stops the other one owns all its partitions and
holds the outbox relay. Two dispatch replicas (a consumer of two topics and a relay), intake
feeding them appeals meanwhile; the replica holding the relay is stopped, alternately with
SIGKILL and SIGTERM, then restarted. Targets (issue 15): under 5 s after a SIGKILL, under 1 s
after a SIGTERM.

Run alone: `bash services/with-test-stack.sh .venv/bin/python -m benchmarks.takeover`.
"""

import asyncio
import contextlib
import json
import os
import signal
import statistics
import time
from typing import Any

import httpx

from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes, replicas
from tests.support.processes import OPERATOR, bearer

ROUNDS = int(os.environ.get("BENCH_TAKEOVER_ROUNDS", "3"))  # of each signal


async def _feed(intake_url: str, stop: asyncio.Event) -> int:
    """Appeals at a modest steady rate, so the replicas are busy when one goes."""
    sent = 0
    headers = bearer(*OPERATOR)
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                await client.post(f"{intake_url}/v1/appeals", json=APPEAL, headers=headers)
                sent += 1
            await asyncio.sleep(0.05)
    return sent


async def bench_takeover() -> dict[str, Any]:
    intake = await processes.make("intake")
    pair = await replicas.make("dispatch", 2, {"HOTLINE_LOG_LEVEL": "WARNING"})
    await seed_routing(pair[0])
    intake.start(HOTLINE_LOG_LEVEL="WARNING")
    stop = asyncio.Event()
    figures: dict[str, list[dict[str, float | None]]] = {"SIGKILL": [], "SIGTERM": []}
    try:
        async with httpx.AsyncClient() as client:
            await intake.ready()
            pair[0].start()
            await pair[0].ready()
            total = await replicas.total_partitions(client, pair[0])
            pair[1].start()
            await pair[1].ready()
            feeder = asyncio.create_task(_feed(intake.url, stop))
            for sig in [signal.SIGKILL, signal.SIGTERM] * ROUNDS:
                await _settled(client, pair, total)
                roles = [await replicas.metric(client, p, replicas.RELAY) for p in pair]
                holder = pair[roles.index(1)]
                survivor = pair[1 - pair.index(holder)]
                assert holder.process is not None
                since = time.monotonic()
                holder.process.send_signal(sig)
                took = await replicas.takeover(
                    client, survivor, since=since, partitions=total, relay=True
                )
                figures[sig.name].append(
                    {"partitions_s": took.partitions_s, "relay_s": took.relay_s}
                )
                await holder.exited(deadline_seconds=30)
                holder.start()
                await holder.ready()
            stop.set()
            appeals = await feeder
    finally:
        stop.set()
        for process in (intake, *pair):
            process.stop()
    return {"partitions": total, "appeals_fed": appeals, **_summary(figures)}


async def _settled(client: httpx.AsyncClient, pair: list[Any], total: int) -> None:
    """Both replicas own a share and one holds the relay: the state before each stop."""

    async def probe() -> bool | None:
        owned = [await replicas.metric(client, p, replicas.PARTITIONS) for p in pair]
        relays = [await replicas.metric(client, p, replicas.RELAY) for p in pair]
        settled = (
            all(owned) and sum(o or 0 for o in owned) == total and sum(r or 0 for r in relays) == 1
        )
        return True if settled else None

    await polling.until(probe, deadline_seconds=60, what="the pair to settle")


def _summary(figures: dict[str, list[dict[str, float | None]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sig, rounds in figures.items():
        for what in ("partitions_s", "relay_s"):
            values = [v for r in rounds if (v := r[what]) is not None]
            out[f"{sig.lower()}_{what}"] = {
                "median": round(statistics.median(values), 2),
                "max": round(max(values), 2),
                "all": [round(v, 2) for v in values],
            }
    return out


async def main() -> None:
    await infra.require_servers()
    print(json.dumps(await bench_takeover(), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
