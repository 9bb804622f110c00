"""Whole lifecycles alone, with where the time and the CPU go: the four services started as
`make bench` starts them (BENCH_SPLIT), lifecycles driven for BENCH_LIFECYCLE_SECONDS at
BENCH_LIFECYCLE_CONCURRENCY at once (benchmarks/lifecycles.py), and meanwhile the CPU of
every service process (web and worker apart), PostgreSQL, Kafka and the driver, per
completed lifecycle, and the machine's idle share (/proc/stat).

    HOTLINE_TEST_KAFKA_PORT=… HOTLINE_TEST_KAFKA_CONTROLLER_PORT=… HOTLINE_TEST_PG_PORT=… \
        bash services/with-test-stack.sh .venv/bin/python -m benchmarks.lifecycle_cpu

BENCH_LIFECYCLE_CONCURRENCY ("64", several comma-separated run one after another on the
same services), BENCH_LIFECYCLE_SECONDS (30), BENCH_CODE (serve the services from that
checkout, e.g. `git archive` of another commit, so two versions are measured by the same
driver side by side). Prints one JSON document.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import lifecycles, measure, throughput
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
STACK = Path(os.environ.get("HOTLINE_STACK_DIR", ".cache/test-stack"))


def _pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _processes(services: list[ServiceProcess]) -> dict[str, int]:
    """Each process to watch by name; a web process's figure includes its uvicorn workers,
    PostgreSQL's its backends."""
    found: dict[str, int] = {}
    for service in services:
        name = service.service.name
        assert service.process is not None
        if service.worker is not None:
            found[f"{name} web"] = service.process.pid
            found[f"{name} worker"] = service.worker.pid
        else:
            found[name] = service.process.pid
    for name, path in (
        ("postgresql", STACK / "postgres" / "data" / "postmaster.pid"),
        ("kafka", STACK / "kafka" / "kafka.pid"),
    ):
        if (pid := _pid_in(path)) is not None:
            found[name] = pid
    return found


def _machine() -> tuple[int, int]:
    """Idle and total jiffies of all CPUs so far."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user … steal


def _reaped_seconds(pid: int) -> float:
    """CPU time of a process's children that have exited and been waited for: PostgreSQL's
    backends that closed (the root's cutime and cstime), which the live tree no longer has."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    spent = {name: measure.cpu_seconds(pid) for name, pid in pids.items()}
    if "postgresql" in pids:
        spent["postgresql"] += _reaped_seconds(pids["postgresql"])
    return spent | {"driver": time.process_time()}


async def measured(
    urls: dict[str, str],
    pids: dict[str, int],
    databases: dict[str, str],
    concurrency: int,
    **driver: Any,
) -> dict[str, Any]:
    for database in databases.values():
        await measure.reset_statements(database)
    before, (idle0, total0) = _cpu(pids), _machine()
    load0 = os.getloadavg()[0]
    result = await lifecycles.run(urls, concurrency=concurrency, seconds=SECONDS, **driver)
    after, (idle1, total1) = _cpu(pids), _machine()
    done = max(result["completed"], 1)
    per = {name: round((after[name] - before[name]) * 1000 / done, 2) for name in before}
    result["cpu_ms_per_lifecycle"] = dict(sorted(per.items(), key=lambda kv: -kv[1]))
    result["cpu_ms_per_lifecycle_total"] = round(sum(per.values()), 1)
    result["machine_idle_share"] = round((idle1 - idle0) / max(total1 - total0, 1), 3)
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
        pids = _processes(services)
        databases = {
            s.service.name: measure.database_name(processes.database_url(s)) for s in services
        }
        print("driving", json.dumps(pids), file=sys.stderr, flush=True)  # e.g. for py-spy
        for concurrency in CONCURRENCIES:
            results[f"lifecycles_{concurrency}"] = await measured(
                {"intake": intake.url, "dispatch": dispatch.url, "feedback": feedback.url},
                pids,
                databases,
                concurrency,
                appeal=APPEAL,
                operator=processes.bearer(*processes.OPERATOR),
                department=processes.bearer(*DEPARTMENT_SCOPES, department="water"),
            )
    finally:
        for service in services:
            service.stop()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    if code := os.environ.get("BENCH_CODE"):
        service_processes.ROOT = Path(code).resolve()  # where each service process runs
    asyncio.run(main())
