"""Whole lifecycles alone, with where the time and the CPU go: the four services started as
`make bench` starts them (BENCH_SPLIT), lifecycles driven for BENCH_LIFECYCLE_SECONDS at
BENCH_LIFECYCLE_CONCURRENCY at once (benchmarks/lifecycles.py), and meanwhile the CPU of
every service process (web and worker apart), PostgreSQL, Kafka and the driver, per
completed lifecycle, and the machine's idle share (/proc/stat).

    HOTLINE_TEST_KAFKA_PORT=… HOTLINE_TEST_KAFKA_CONTROLLER_PORT=… HOTLINE_TEST_PG_PORT=… \
        bash services/with-test-stack.sh .venv/bin/python -m benchmarks.lifecycle_cpu

BENCH_LIFECYCLE_CONCURRENCY ("64", several comma-separated run one after another on the
same services), BENCH_LIFECYCLE_SECONDS (30), BENCH_LIFECYCLE_WARMUP_SECONDS (30: lifecycles
first driven unmeasured, as `make bench` runs them after its other phases: a broker just
started spends about twice a warm one's CPU per lifecycle compiling its hot code), BENCH_CODE
(serve the services from that checkout, e.g. `git archive` of another commit, so two
versions are measured by the same driver side by side). Prints one JSON document; compare
two versions by `per_ms_of_driver_cpu`, each figure over the driver's own CPU, which the
box's speed stretches as it does theirs.
"""

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks import cpu, lifecycles, measure, throughput
from dispatch_service.handlers import HANDLERS as DISPATCH_HANDLERS
from feedback_service.handlers import HANDLERS as FEEDBACK_HANDLERS
from services import processes as service_processes
from services.cli import DEPARTMENT_SCOPES
from services.processes import ServiceProcess
from shared import topics
from shared.runtime.consumer import subscriptions
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

CONCURRENCIES = [int(c) for c in os.environ.get("BENCH_LIFECYCLE_CONCURRENCY", "64").split(",")]
SECONDS = float(os.environ.get("BENCH_LIFECYCLE_SECONDS", "30"))
WARMUP_SECONDS = float(os.environ.get("BENCH_LIFECYCLE_WARMUP_SECONDS", "30"))


def _watch(services: list[ServiceProcess], databases: dict[str, str]) -> cpu.Processes:
    """Each process to watch by name (a web process with its uvicorn workers), PostgreSQL's
    backends by their service's database, and Kafka."""
    trees: dict[str, int] = {}
    for service in services:
        name = service.service.name
        assert service.process is not None
        if service.worker is not None:
            trees[f"{name} web"] = service.process.pid
            trees[f"{name} worker"] = service.worker.pid
        else:
            trees[name] = service.process.pid
    return cpu.Processes(trees, {database: name for name, database in databases.items()})


async def measured(
    urls: dict[str, str],
    watched: cpu.Processes,
    databases: dict[str, str],
    concurrency: int,
    **driver: Any,
) -> dict[str, Any]:
    for database in databases.values():
        await measure.reset_statements(database)
    before, load0 = watched.snapshot(), os.getloadavg()[0]
    sampling = asyncio.create_task(cpu.keep_sampling(watched))
    try:
        result = await lifecycles.run(urls, concurrency=concurrency, seconds=SECONDS, **driver)
    finally:
        sampling.cancel()
    done = max(result["completed"], 1)
    spent = result["cpu_ms_per_lifecycle"] = cpu.per_item(before, watched.snapshot(), done)
    # The box's speed moves by a third between runs (other tenants); the driver does the same
    # work per lifecycle in every run, so runs of two versions compare per ms of its CPU.
    if driver_ms := spent.get("bench client"):
        result["per_ms_of_driver_cpu"] = {
            k: round(v / driver_ms, 3) for k, v in spent.items() if k != "machine idle share"
        }
    result["load_average"] = [load0, os.getloadavg()[0]]
    result["sql_per_lifecycle"] = {
        name: await measure.statements(database, done) for name, database in databases.items()
    }
    return result


async def main() -> None:
    await infra.require_servers()
    services = [await processes.make(name) for name in ("intake", "dispatch", "feedback", "audit")]
    for service in services:
        service.split = service.service.name in measure.SPLIT  # as make bench runs them
    intake, dispatch, feedback, audit = services
    await seed_routing(dispatch)
    results: dict[str, Any] = {"split": sorted(measure.SPLIT)}
    try:
        for service in services:
            service.start(HOTLINE_LOG_LEVEL="WARNING")
        for service in services:
            await service.ready()
        # Fresh groups read the topics from the start: what earlier runs left there is
        # applied before the measurement, not during it.
        results["catch_up_seconds"] = await throughput.caught_up(
            {
                processes.group(feedback): subscriptions(FEEDBACK_HANDLERS),
                processes.group(audit): topics.ALL,
                processes.group(dispatch): subscriptions(DISPATCH_HANDLERS),
            }
        )
        databases = {
            s.service.name: measure.database_name(processes.database_url(s)) for s in services
        }
        watched = _watch(services, databases)
        print("driving", json.dumps(watched.trees), file=sys.stderr, flush=True)  # for py-spy
        urls = {"intake": intake.url, "dispatch": dispatch.url, "feedback": feedback.url}
        driver: dict[str, Any] = {
            "appeal": APPEAL,
            "operator": processes.bearer(*processes.OPERATOR),
            "department": processes.bearer(*DEPARTMENT_SCOPES, department="water"),
        }
        if WARMUP_SECONDS > 0:
            warm = await lifecycles.run(
                urls, concurrency=CONCURRENCIES[0], seconds=WARMUP_SECONDS, **driver
            )
            results["warm_up"] = {k: warm[k] for k in ("seconds", "completed", "errors")}
        for n, concurrency in enumerate(CONCURRENCIES):
            name = f"lifecycles_{concurrency}"
            results[name if name not in results else f"{name}_{n}"] = await measured(
                urls, watched, databases, concurrency, **driver
            )
    finally:
        for service in services:
            service.stop()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    if code := os.environ.get("BENCH_CODE"):
        service_processes.ROOT = Path(code).resolve()  # where each service process runs
    asyncio.run(main())
