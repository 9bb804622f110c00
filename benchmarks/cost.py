"""What every process spends per appeal in the paced phase (POST to assignment at a steady
rate), with all four services running as `make bench` runs them: CPU ms per appeal of each
service's web and worker processes, PostgreSQL's backends by service, the rest of
PostgreSQL, Kafka and this driver, and the machine's busy time and idle share, from the
first request until every consumer group has caught up.

    HOTLINE_TEST_KAFKA_PORT=… HOTLINE_TEST_KAFKA_CONTROLLER_PORT=… HOTLINE_TEST_PG_PORT=… \
        bash services/with-test-stack.sh .venv/bin/python -m benchmarks.cost

BENCH_COST_CODE: checkouts to run, comma-separated, alternating round by round (default
this one); e.g. `git archive BASE | tar -x -C .cache/base` beside this checkout measures a
change side by side on one stack. An entry may add settings for one service's processes:
`.+audit.HOTLINE_CONSUMER_LINGER_MS=200+feedback.HOTLINE_RELAY_LINGER_MS=0`. Each run gets
fresh databases and consumer groups that start at the topics' ends, after a first run of
BENCH_COST_WARMUP_SECONDS (10; not reported) warms Kafka's JIT and the page cache.
BENCH_COST_ROUNDS (1), BENCH_PACED_RATE (100),
BENCH_PACED_SECONDS (30). BENCH_COST_PROFILE=DIR also records each service process with
py-spy during the paced phase (collapsed stacks in DIR; the sampling costs CPU, so not for
the figures). Prints one JSON document.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
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

CODE = os.environ.get("BENCH_COST_CODE", str(ROOT)).split(",")
WARMUP_SECONDS = float(os.environ.get("BENCH_COST_WARMUP_SECONDS", "10"))
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


def _variant(entry: str) -> tuple[Path, dict[str, dict[str, str]]]:
    """A checkout and the settings its entry adds per service."""
    code, *settings = entry.split("+")
    env: dict[str, dict[str, str]] = {}
    for setting in settings:
        service, _, assignment = setting.partition(".")
        name, _, value = assignment.partition("=")
        env.setdefault(service, {})[name] = value
    return Path(code).resolve(), env


async def _services(entry: str) -> dict[str, CheckedOut]:
    code, env = _variant(entry)
    made = {}
    for name in SUBSCRIBED:
        plain = await processes.make(name)
        made[name] = CheckedOut(
            plain.service, plain.logs, env=plain.env | env.get(name, {}), code=code
        )
        made[name].split = name in measure.SPLIT
        await _start_at_end(processes.group(plain), SUBSCRIBED[name])
    await seed_routing(made["dispatch"])
    return made


def _watch(services: dict[str, CheckedOut]) -> cpu.Processes:
    trees: dict[str, int] = {}
    for name, service in services.items():
        assert service.process is not None
        trees[f"{name} {'web' if service.split else 'process'}"] = service.process.pid
        if service.worker is not None:
            trees[f"{name} worker"] = service.worker.pid
    databases = {
        measure.database_name(processes.database_url(s)): name for name, s in services.items()
    }
    return cpu.Processes(trees, databases)


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


async def _sessions(conn: asyncpg.Connection, databases: dict[str, str]) -> dict[str, int]:
    """Connections opened so far per service's database (each one a backend to fork and
    warm up)."""
    rows = await conn.fetch(
        "SELECT datname, sessions FROM pg_stat_database WHERE datname = ANY($1::text[])",
        list(databases.values()),
    )
    found = {row["datname"]: int(row["sessions"]) for row in rows}
    return {name: found.get(database, 0) for name, database in databases.items()}


async def one_run(entry: str, seconds: float = SECONDS) -> dict[str, Any]:
    profilers: list[subprocess.Popen[bytes]] = []
    code = _variant(entry)[0]
    services = await _services(entry)
    dispatch_dsn = measure.dsn(processes.database_url(services["dispatch"]))
    probe = await asyncpg.connect(dispatch_dsn)
    try:
        for service in services.values():
            service.start(HOTLINE_LOG_LEVEL="WARNING")
        for service in services.values():
            await service.ready()
        await asyncio.sleep(3)  # start-up work (group joins, first polls) out of the figure
        watched = _watch(services)
        idle_before = watched.snapshot()
        await asyncio.sleep(5)
        idle = cpu.per_item(idle_before, watched.snapshot(), 5)  # per second, not per appeal
        profilers = _profile(watched.trees, code.name) if PROFILE and seconds == SECONDS else []
        databases = {
            n: measure.database_name(processes.database_url(s)) for n, s in services.items()
        }
        for database in databases.values():
            await measure.reset_statements(database)
        sessions = await _sessions(probe, databases)
        before, load_before = watched.snapshot(), os.getloadavg()
        sampling = asyncio.create_task(cpu.keep_sampling(watched))
        latency = await paced.post_to_assignment(
            services["intake"].url,
            dispatch_dsn,
            headers=processes.bearer(*processes.OPERATOR),
            appeal=APPEAL,
            rate=RATE,
            seconds=seconds,
        )
        groups = {processes.group(services[n]): SUBSCRIBED[n] for n in SUBSCRIBED}
        caught_up = await throughput.caught_up(groups, deadline_seconds=120)
        sampling.cancel()
        spent = cpu.per_item(before, watched.snapshot(), latency["sent"])
        statements = {
            # the services' own (the bench's watcher reads dispatch's as the owner)
            name: await measure.statements(database, latency["sent"], role=infra.RUNTIME)
            for name, database in databases.items()
        }
        opened = await _sessions(probe, databases)
        for name in databases:
            statements[name]["connections_opened"] = opened[name] - sessions[name]
    finally:
        for profiler in profilers:
            profiler.wait()
        await probe.close()
        for service in services.values():
            service.stop()
    return {
        "code": entry,
        "load_average": [load_before, os.getloadavg()],
        "paced": latency,
        "caught_up_after_seconds": caught_up,
        "cpu_ms_per_appeal": spent,
        "idle_cpu_ms_per_second": idle,
        "sql_per_appeal": statements,
    }


def _print_tasks() -> None:
    for task in asyncio.all_tasks():
        task.print_stack()


async def main() -> None:
    # `kill -USR1` prints where every task waits (a run that hangs says where).
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _print_tasks)
    await infra.require_servers()
    runs = []
    if WARMUP_SECONDS:
        await one_run(CODE[-1], WARMUP_SECONDS)
    for _ in range(ROUNDS):
        for code in CODE:
            runs.append(await one_run(code))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    # The driver on the event loop the services run on: its own CPU per request is part of
    # what the two cores share (benchmarks/client.py).
    uvloop.run(main())
