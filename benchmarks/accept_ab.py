"""Intake's accept, two versions side by side: each served from a checkout of its own (a
`git archive` of a commit), both started once on one stack as `make bench` starts intake
(web and worker processes), then wrk alternating between them, so the box's drift falls
on both alike. Per turn, per filing: accepted/s, the CPU ms of the version's processes
and of its PostgreSQL backends (/proc), PostgreSQL's execution ms (pg_stat_statements)
and the whole machine's busy ms.

    bash services/with-test-stack.sh .venv/bin/python -m benchmarks.accept_ab BASE NEW

BENCH_AB_ROUNDS (6 turns each), BENCH_AB_CONNECTIONS (32; 1 sends one filing at a time),
BENCH_SECONDS (10 per turn). Prints one JSON document: the turns and each side's medians.
"""

import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import uvloop

from benchmarks import cpu, measure, throughput
from services import processes as service_processes
from services.processes import ServiceProcess
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

ROUNDS = int(os.environ.get("BENCH_AB_ROUNDS", "6"))
CONNECTIONS = int(os.environ.get("BENCH_AB_CONNECTIONS", str(throughput.CONCURRENCY)))


async def _started(checkout: Path) -> ServiceProcess:
    service_processes.ROOT = checkout  # where the process runs, and imports from
    intake = await processes.make("intake")
    intake.split = True
    intake.start(HOTLINE_LOG_LEVEL="WARNING")
    return intake


def _database(intake: ServiceProcess) -> str:
    return measure.database_name(processes.database_url(intake))


async def _turn(
    name: str, intake: ServiceProcess, headers: dict[str, str], watched: cpu.Processes
) -> dict[str, float]:
    database = _database(intake)
    await measure.reset_statements(database)
    pids = [each.pid for each in intake.processes]
    before, backends = sum(map(measure.cpu_seconds, pids)), watched.snapshot()
    sampling = asyncio.create_task(cpu.keep_sampling(watched))
    try:
        url = f"{intake.url}/v1/appeals"
        rate = await asyncio.to_thread(
            throughput.wrk, url, headers, APPEAL, connections=CONNECTIONS
        )
    finally:
        sampling.cancel()
    filed = rate * throughput.DURATION
    spent = cpu.per_item(backends, watched.snapshot(), max(round(filed), 1))
    return {
        "accepted_per_s": round(rate),
        "cpu_ms_per_filing": round(
            1000 * (sum(map(measure.cpu_seconds, pids)) - before) / filed, 2
        ),
        # Its backends' CPU, planning included: execution time alone missed a statement
        # planned again on most filings (docs/benchmarks.md, the repeat search).
        "postgres_cpu_ms_per_filing": spent[f"postgres {name}"],
        "postgres_exec_ms_per_filing": round(await measure.execution_ms(database) / filed, 3),
        "machine_ms_per_filing": spent["machine busy"],
        "load_average": round(os.getloadavg()[0], 1),
    }


async def main(checkouts: dict[str, Path]) -> None:
    await infra.require_servers()
    served = {name: await _started(checkout) for name, checkout in checkouts.items()}
    headers = processes.bearer("appeals:write")
    turns: dict[str, list[dict[str, float]]] = {name: [] for name in served}
    try:
        for intake in served.values():
            await intake.ready()
        for intake in served.values():  # warm: the first seconds compile and fill caches
            await asyncio.to_thread(throughput.wrk, f"{intake.url}/v1/appeals", headers, APPEAL)
        watched = cpu.Processes({}, {_database(intake): name for name, intake in served.items()})
        for n in range(ROUNDS):
            names = list(served) if n % 2 == 0 else list(served)[::-1]
            for name in names:
                turns[name].append(await _turn(name, served[name], headers, watched))
                print(name, turns[name][-1], file=sys.stderr, flush=True)
    finally:
        for intake in served.values():
            intake.stop()
    medians: dict[str, Any] = {
        name: {key: round(statistics.median(t[key] for t in runs), 3) for key in runs[0]}
        for name, runs in turns.items()
    }
    print(json.dumps({"connections": CONNECTIONS, "turns": turns, "medians": medians}, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.accept_ab BASE_CHECKOUT NEW_CHECKOUT")
    base, new = (Path(each).resolve() for each in sys.argv[1:])
    uvloop.run(main({"base": base, "new": new}))
