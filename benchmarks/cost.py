"""What every process spends per appeal in the paced phase (POST to assignment at a steady
rate), with all four services running as `make bench` runs them: CPU ms per appeal of each
service's web and worker processes, PostgreSQL's backends by service, the rest of
PostgreSQL, Kafka and this driver, and the machine's busy time and idle share, from the
first request until every consumer group has caught up.

    HOTLINE_TEST_KAFKA_PORT=… HOTLINE_TEST_KAFKA_CONTROLLER_PORT=… HOTLINE_TEST_PG_PORT=… \
        bash services/with-test-stack.sh .venv/bin/python -m benchmarks.cost

BENCH_COST_CODE: checkouts to run, comma-separated, alternating round by round (default
this one); e.g. `git archive BASE | tar -x -C .cache/base` beside this checkout measures a
change side by side on one stack. Each run gets fresh databases and consumer groups that
start at the topics' ends. BENCH_COST_ROUNDS (1), BENCH_PACED_RATE (100),
BENCH_PACED_SECONDS (30). BENCH_COST_PROFILE=DIR also records each service process with
py-spy during the paced phase (collapsed stacks in DIR; the sampling costs CPU, so not for
the figures). Prints one JSON document.
"""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from benchmarks import cpu, measure, paced, throughput
from dispatch_service.handlers import HANDLERS as DISPATCH_HANDLERS
from feedback_service.handlers import HANDLERS as FEEDBACK_HANDLERS
from intake_service.handlers import HANDLERS as INTAKE_HANDLERS
from services.processes import ROOT, ServiceProcess
from shared import topics
from shared.runtime import kafka
from shared.runtime.consumer import subscriptions
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

CODE = [Path(c).resolve() for c in os.environ.get("BENCH_COST_CODE", str(ROOT)).split(",")]
ROUNDS = int(os.environ.get("BENCH_COST_ROUNDS", "1"))
RATE = float(os.environ.get("BENCH_PACED_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "30"))
PROFILE = os.environ.get("BENCH_COST_PROFILE")
SUBSCRIBED = {
    "intake": subscriptions(INTAKE_HANDLERS),
    "dispatch": subscriptions(DISPATCH_HANDLERS),
    "feedback": subscriptions(FEEDBACK_HANDLERS),
    "audit": topics.ALL,
}


@dataclass
class CheckedOut(ServiceProcess):
    """A service run from another checkout's code (same interpreter and dependencies)."""

    code: Path = ROOT

    def _popen(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log_file.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=self.code,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env | {"PYTHONPATH": str(self.code)},
                start_new_session=self.split,
            )


async def _start_at_end(group: str, names: Sequence[str]) -> None:
    """Commit the group's offsets at the topics' current ends: a fresh group would read
    every earlier run's facts otherwise (auto_offset_reset is earliest)."""
    partitions = await kafka.partitions(infra.KAFKA, names)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.KAFKA, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit(ends)
    finally:
        await consumer.stop()


async def _services(code: Path) -> dict[str, CheckedOut]:
    made = {}
    for name in SUBSCRIBED:
        plain = await processes.make(name)
        made[name] = CheckedOut(plain.service, plain.logs, env=plain.env, code=code)
        made[name].split = name in measure.SPLIT
        await _start_at_end(processes.group(plain), SUBSCRIBED[name])
    await seed_routing(made["dispatch"])
    return made


def _watch(services: dict[str, CheckedOut], backend: int) -> cpu.Processes:
    trees: dict[str, int] = {}
    for name, service in services.items():
        assert service.process is not None
        trees[f"{name} {'web' if service.split else 'process'}"] = service.process.pid
        if service.worker is not None:
            trees[f"{name} worker"] = service.worker.pid
    databases = {
        measure.database_name(processes.database_url(s)): name for name, s in services.items()
    }
    kafka_pid = Path(os.environ["HOTLINE_STACK_DIR"], "kafka", "kafka.pid").read_text()
    return cpu.Processes(trees, databases, backend=backend, kafka=int(kafka_pid))


def _profile(trees: dict[str, int], label: str) -> list[subprocess.Popen[bytes]]:
    assert PROFILE is not None
    Path(PROFILE).mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    return [
        subprocess.Popen(
            [
                *(py_spy, "record", "--subprocesses", "--format", "raw", "--rate", "50"),
                *("-d", str(int(SECONDS)), "-p", str(pid)),
                *("-o", f"{PROFILE}/{label}-{name.replace(' ', '-')}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in trees.items()
    ]


async def one_run(code: Path) -> dict[str, Any]:
    profilers: list[subprocess.Popen[bytes]] = []
    services = await _services(code)
    dispatch_dsn = measure.dsn(processes.database_url(services["dispatch"]))
    probe = await asyncpg.connect(dispatch_dsn)
    try:
        for service in services.values():
            service.start(HOTLINE_LOG_LEVEL="WARNING")
        for service in services.values():
            await service.ready()
        await asyncio.sleep(3)  # start-up work (group joins, first polls) out of the figure
        watched = _watch(services, await probe.fetchval("SELECT pg_backend_pid()"))
        idle_before = watched.snapshot()
        await asyncio.sleep(5)
        idle = cpu.per_item(idle_before, watched.snapshot(), 5)  # per second, not per appeal
        profilers = _profile(watched.trees, code.name) if PROFILE else []
        databases = {
            n: measure.database_name(processes.database_url(s)) for n, s in services.items()
        }
        for database in databases.values():
            await measure.reset_statements(database)
        before, load_before = watched.snapshot(), os.getloadavg()
        latency = await paced.post_to_assignment(
            services["intake"].url,
            dispatch_dsn,
            headers=processes.bearer(*processes.OPERATOR),
            appeal=APPEAL,
            rate=RATE,
            seconds=SECONDS,
        )
        groups = {processes.group(services[n]): SUBSCRIBED[n] for n in SUBSCRIBED}
        caught_up = await throughput.caught_up(groups, deadline_seconds=120)
        spent = cpu.per_item(before, watched.snapshot(), latency["sent"])
        statements = {
            name: await measure.statements(database, latency["sent"])
            for name, database in databases.items()
        }
    finally:
        for profiler in profilers:
            profiler.wait()
        await probe.close()
        for service in services.values():
            service.stop()
    return {
        "code": str(code),
        "load_average": [load_before, os.getloadavg()],
        "paced": latency,
        "caught_up_after_seconds": caught_up,
        "cpu_ms_per_appeal": spent,
        "idle_cpu_ms_per_second": idle,
        "sql_per_appeal": statements,
    }


async def main() -> None:
    await infra.require_servers()
    runs = []
    for _ in range(ROUNDS):
        for code in CODE:
            runs.append(await one_run(code))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
