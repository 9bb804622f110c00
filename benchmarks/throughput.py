"""The throughput figures: (a) appeals accepted per second on POST /v1/appeals against a
bare FastAPI insert-and-commit, with intake's SQL statements per accepted appeal; the
dispatch drain of the backlog (a) leaves; and consumer groups catching up. The audit
replay's figures are in benchmarks/replays.py."""

import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import measure
from intake_service.settings import IntakeSettings
from services.catalog import SERVICES, Service
from services.processes import ServiceProcess
from shared import topics
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
# Unmeasured load on each endpoint before the accept runs. A just-started intake's first
# run was 5-25% below its second in each of the last nine `make bench`s, the bare
# insert's in five and mostly by less: the target is about a running service, not its
# first seconds on a fresh stack (docs/benchmarks.md).
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))


def wrk(
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    *,
    connections: int = CONCURRENCY,
    seconds: int = DURATION,
) -> float:
    """Requests per second from wrk (a C load generator: a Python client would be the
    bottleneck on two cores), over `connections` at once."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {_lua_string(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    # Each request from another citizen (a phone of its own), as the hotline's traffic is:
    # one phone for all would queue every filing on that citizen's key row.
    phone = body["citizen"]["phone"]
    lines += [
        "request = function()",
        '  local phone = string.format("139%08d", math.random(0, 99999999))',
        f"  local body = wrk.body:gsub({_lua_string(phone)}, phone)",
        "  return wrk.format(nil, nil, nil, body)",
        "end",
    ]
    script.write_text("\n".join(lines) + "\n")
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Non-2xx" not in output, output
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]


def _lua_string(value: str) -> str:
    # A long-bracket literal: no escaping needed. Callers put spaces around it inside [ ],
    # since "[[" would open a long string.
    return "[==[" + value + "]==]"


async def bench_accept(intake: ServiceProcess, bare: ServiceProcess) -> dict[str, Any]:
    headers = processes.bearer("appeals:write")
    runs: dict[str, list[float]] = {"intake": [], "bare": []}
    cpu = {"intake": 0.0, "bare": 0.0}  # CPU seconds the server process spent in the runs
    database = measure.database_name(processes.database_url(intake))
    targets = {
        "bare": (bare, f"{bare.url}/items", {}),
        "intake": (intake, f"{intake.url}/v1/appeals", headers),
    }
    for _, url, with_headers in targets.values():
        await asyncio.to_thread(wrk, url, with_headers, APPEAL, seconds=WARMUP)
    await measure.reset_statements(database)
    warmed = await _filed(intake)
    for _ in range(2):  # alternate, so drift on a noisy machine hits both alike
        for name, (server, url, with_headers) in targets.items():
            pids = [each.pid for each in server.processes]  # web and worker, when split
            before = sum(map(measure.cpu_seconds, pids))
            rate = await asyncio.to_thread(wrk, url, with_headers, APPEAL)
            cpu[name] += sum(map(measure.cpu_seconds, pids)) - before
            runs[name].append(rate)
    accepted = await _filed(intake) - warmed
    intake_rps, bare_rps = statistics.mean(runs["intake"]), statistics.mean(runs["bare"])
    return {
        "seconds_per_run": DURATION,
        "warmup_seconds": WARMUP,
        "concurrency": CONCURRENCY,
        "runs": runs,
        "intake_per_s": round(intake_rps),
        "bare_insert_per_s": round(bare_rps),
        "ratio": round(intake_rps / bare_rps, 3),
        "cpu_ms_per_request": {
            name: round(1000 * cpu[name] / (sum(runs[name]) * DURATION), 2) for name in cpu
        },
        "sql": await measure.statements(database, int(accepted)),
    }


async def _filed(intake: ServiceProcess) -> int:
    [(filed,)] = await infra.query(
        infra.owner_url(processes.database_url(intake)),
        "SELECT count(*) FROM events WHERE type = 'appeal.received'",
    )
    return int(filed)


async def bench_drain(dispatch: ServiceProcess) -> dict[str, Any]:
    """Start dispatch on the backlog the accept runs left and time it to zero lag."""
    ends = await infra.end_offsets([topics.INTAKE])
    backlog = sum(ends.values())
    started = time.perf_counter()
    dispatch.start(HOTLINE_LOG_LEVEL="WARNING")
    async with asyncio.timeout(900):
        while True:
            committed = await infra.committed_offsets(processes.group(dispatch))
            if all(committed.get(tp, -1) >= end for tp, end in ends.items() if end):
                break
            await asyncio.sleep(0.5)
    seconds = time.perf_counter() - started
    return {
        "appeals": backlog,
        "seconds": round(seconds, 1),
        "assigned_per_s": round(backlog / seconds),
    }


async def caught_up(groups: dict[str, Sequence[str]], deadline_seconds: float = 300) -> float:
    """Seconds until every consumer group (name -> its topics) has committed up to the
    current end of each non-empty partition."""
    started = time.perf_counter()
    async with asyncio.timeout(deadline_seconds):
        for group, wanted in groups.items():
            ends = await infra.end_offsets(wanted)
            while True:
                committed = await infra.committed_offsets(group)
                if all(committed.get(tp, -1) >= end for tp, end in ends.items() if end):
                    break
                await asyncio.sleep(0.5)
    return round(time.perf_counter() - started, 1)


def bare_service() -> Service:
    return Service(
        "bare", IntakeSettings, SERVICES["intake"].migrations, "benchmarks.bare_app:create_app"
    )
