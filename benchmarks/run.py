"""`make bench`: each figure next to its baseline and its target (issue 14), measured in the
same run on this machine; prints the table and writes docs/benchmarks.json.

Phases, in order, on one Kafka and one PostgreSQL (services/with-test-stack.sh):
 1. accept: wrk against POST /v1/appeals and a bare insert-and-commit, alternating; intake's
    SQL statements per accepted appeal from pg_stat_statements (benchmarks/throughput.py);
 2. drain: dispatch started on the backlog phase 1 left;
 3. feedback and audit started and caught up; every service's memory sampled;
 4. POST to assignment at a steady rate, open loop (benchmarks/paced.py); memory sampled;
 5. every group caught up again, then whole lifecycles, many at once
    (benchmarks/lifecycles.py); memory sampled;
 6. takeover after SIGKILL and SIGTERM (benchmarks/takeover.py);
 7. audit replay against plain aiokafka consumption, and PostgreSQL alone storing its rows;
 8. a receipt and a consistency proof at 1,000,000 facts vs at 1,000 (benchmarks/proofs.py).
Bounded: fixed durations and counts, deadlines on every wait.
"""

import json
import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

import uvloop

from benchmarks import lifecycles, measure, paced, proofs, replays, throughput
from benchmarks.report import print_table
from benchmarks.takeover import bench_takeover
from dispatch_service.handlers import HANDLERS as DISPATCH_HANDLERS
from feedback_service.handlers import HANDLERS as FEEDBACK_HANDLERS
from services.cli import DEPARTMENT_SCOPES
from services.processes import ServiceProcess
from shared import topics
from shared.runtime.consumer import subscriptions
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

PACED_RATE = float(os.environ.get("BENCH_PACED_RATE", "100"))
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "60"))
LIFECYCLE_CONCURRENCY = int(os.environ.get("BENCH_LIFECYCLE_CONCURRENCY", "64"))
LIFECYCLE_SECONDS = float(os.environ.get("BENCH_LIFECYCLE_SECONDS", "30"))
OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.json"


def _sample_memory(
    memory: dict[str, list[dict[str, Any]]], phase: str, services: list[ServiceProcess]
) -> None:
    for service in services:
        assert service.process is not None
        pids = [each.pid for each in service.processes]
        sample = {"after": phase, "rss_mb": measure.rss_mb(service.process.pid)}
        if service.split:  # web processes and a worker: each process against the line
            sample = {
                "after": phase,
                "rss_mb": measure.largest_rss_mb(pids),
                "all_processes_mb": round(sum(map(measure.rss_mb, pids)), 1),
            }
        memory.setdefault(service.service.name, []).append(sample)


async def _system(results: dict[str, Any]) -> None:
    intake, dispatch, feedback, audit = [
        await processes.make(name) for name in ("intake", "dispatch", "feedback", "audit")
    ]
    for service in (intake, dispatch, feedback, audit):
        service.split = service.service.name in measure.SPLIT  # web processes and a worker
    bare = ServiceProcess(
        throughput.bare_service(),
        processes.LOGS,
        env={
            # As the owner: the bare app creates its own table (the runtime role may not).
            "HOTLINE_DATABASE_URL": infra.owner_url(
                await infra.fresh_database("bench_bare", intake.service.migrations)
            )
        },
    )
    await seed_routing(dispatch)
    everything = [intake, dispatch, feedback, audit, bare]
    memory: dict[str, list[dict[str, Any]]] = {}
    operator = processes.bearer(*processes.OPERATOR)
    try:
        for process in (intake, bare):
            process.start(HOTLINE_LOG_LEVEL="WARNING")
            await process.ready()
        results["accept"] = await throughput.bench_accept(intake, bare)
        bare.stop()
        results["drain"] = await throughput.bench_drain(dispatch)
        await dispatch.ready()
        for process in (feedback, audit):
            process.start(HOTLINE_LOG_LEVEL="WARNING")
            await process.ready()
        groups = {
            processes.group(feedback): subscriptions(FEEDBACK_HANDLERS),
            processes.group(audit): topics.ALL,
            processes.group(dispatch): subscriptions(DISPATCH_HANDLERS),
        }
        results["catch_up_seconds"] = await throughput.caught_up(groups)
        services = [intake, dispatch, feedback, audit]
        _sample_memory(memory, "catch-up", services)
        results["latency"] = await paced.post_to_assignment(
            intake.url,
            measure.dsn(processes.database_url(dispatch)),
            headers=operator,
            appeal=APPEAL,
            rate=PACED_RATE,
            seconds=PACED_SECONDS,
        )
        _sample_memory(memory, "paced", services)
        # Lifecycles are measured on a settled system: an open loop that outran the box
        # leaves a backlog, which would time their first steps out rather than measure them.
        results["catch_up_after_paced_seconds"] = await throughput.caught_up(groups)
        results["lifecycles"] = await lifecycles.run(
            {"intake": intake.url, "dispatch": dispatch.url, "feedback": feedback.url},
            appeal=APPEAL,
            operator=operator,
            department=processes.bearer(*DEPARTMENT_SCOPES, department="water"),
            concurrency=LIFECYCLE_CONCURRENCY,
            seconds=LIFECYCLE_SECONDS,
        )
        _sample_memory(memory, "lifecycles", services)
        results["memory"] = memory
    finally:
        for process in everything:
            process.stop()


async def main() -> None:
    began = time.perf_counter()
    await infra.require_servers()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": os.getloadavg(),
        },
        "run_id": uuid.uuid4().hex[:8],
    }
    try:
        await _system(results)
        results["takeover"] = await bench_takeover()
        results["replay"] = await replays.bench_replay()
        results["proofs"] = await proofs.bench_proofs()
    finally:  # what was measured is kept even when a later phase fails
        results["machine"]["load_average_at_end"] = os.getloadavg()
        results["bench_seconds"] = round(time.perf_counter() - began)
        OUT.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    # The driver on the event loop the services run on: its own CPU per request is part of
    # what the two cores share (benchmarks/client.py).
    uvloop.run(main())
