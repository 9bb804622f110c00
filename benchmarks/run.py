"""`make bench`: each figure next to its baseline, measured in the same run on this machine.

(a) appeals accepted per second on POST /v1/appeals vs a bare FastAPI insert-and-commit;
(b) latency from POST to the assignment being visible on dispatch, p50 and p99, and how fast
    dispatch drains the backlog the accept runs left;
(c) audit replay of at least 200,000 facts vs plain aiokafka consumption of the same topics;
(d) takeover: seconds until a second replica owns a stopped one's partitions and relay, after
    a SIGKILL and after a SIGTERM (benchmarks/takeover.py).
(e) a receipt and a consistency proof at 1,000,000 facts vs at 1,000 (benchmarks/proofs.py).

Prints a table and writes docs/benchmarks.json. Bounded: fixed request counts, deadlines.
"""

import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import replay
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from benchmarks import proofs
from benchmarks.takeover import bench_takeover
from intake_service.settings import IntakeSettings
from services.catalog import SERVICES, Service
from services.processes import ServiceProcess
from shared import topics
from shared.runtime import kafka
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import histories, infra, processes

DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
LATENCY_SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "200"))
REPLAY_APPEALS = int(os.environ.get("BENCH_REPLAY_APPEALS", "40000"))  # x5 facts each
OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.json"


def _wrk(url: str, headers: dict[str, str], body: dict[str, Any]) -> float:
    """Requests per second from wrk (a C load generator: a Python client would be the
    bottleneck on two cores), DURATION seconds, CONCURRENCY connections."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {_lua_string(json.dumps(body))}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    output = subprocess.run(
        ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{DURATION}s", "-s", str(script), url],
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


def bench_accept(intake: ServiceProcess, bare: ServiceProcess) -> dict[str, Any]:
    headers = processes.bearer("appeals:write")
    runs: dict[str, list[float]] = {"intake": [], "bare": []}
    for _ in range(2):  # alternate, so drift on a noisy machine hits both alike
        runs["bare"].append(_wrk(f"{bare.url}/items", {}, APPEAL))
        runs["intake"].append(_wrk(f"{intake.url}/v1/appeals", headers, APPEAL))
    intake_rps, bare_rps = statistics.mean(runs["intake"]), statistics.mean(runs["bare"])
    return {
        "seconds_per_run": DURATION,
        "concurrency": CONCURRENCY,
        "runs": runs,
        "intake_per_s": round(intake_rps),
        "bare_insert_per_s": round(bare_rps),
        "ratio": round(intake_rps / bare_rps, 3),
    }


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


async def bench_latency(intake: ServiceProcess, dispatch: ServiceProcess) -> dict[str, Any]:
    operator = processes.bearer(*processes.OPERATOR)
    samples: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(LATENCY_SAMPLES):
            started = time.perf_counter()
            created = await client.post(f"{intake.url}/v1/appeals", json=APPEAL, headers=operator)
            visible = f"{dispatch.url}/v1/work-orders/{created.json()['id']}"
            async with asyncio.timeout(30):
                while True:
                    if (await client.get(visible, headers=operator)).status_code == 200:
                        break
                    await asyncio.sleep(0.001)
            samples.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(samples, n=100)
    return {
        "samples": len(samples),
        "p50_ms": round(quantiles[49], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(max(samples), 1),
    }


async def _plain_consume() -> tuple[int, float]:
    partitions = await kafka.partitions(infra.KAFKA, topics.ALL)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.KAFKA, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, read = time.perf_counter(), 0
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                read += len(records)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return read, time.perf_counter() - started
    finally:
        await consumer.stop()


async def _timed(action: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await action()
    return result, time.perf_counter() - started


async def bench_replay() -> dict[str, Any]:
    produced = await histories.produce(REPLAY_APPEALS)
    url = await infra.fresh_database("bench_audit", AUDIT_MIGRATIONS)
    engine = create_async_engine(url)
    try:
        plain_read, plain_seconds = await _plain_consume()
        replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
        rebuilt, rebuild_seconds = await _timed(
            lambda: replay.rebuild(engine, infra.KAFKA, schema_name, ends, replay_id)
        )
        async with engine.connect() as conn:
            scoped = await conn.execution_options(schema_translate_map={None: schema_name})
            _, digest_seconds = await _timed(lambda: replay.digests(scoped, ends))
    finally:
        await engine.dispose()
    replay_rate, plain_rate = rebuilt / rebuild_seconds, plain_read / plain_seconds
    return {
        "facts_produced": produced,
        "facts_replayed": rebuilt,
        "replay_facts_per_s": round(replay_rate),
        "plain_consume_per_s": round(plain_rate),
        "ratio": round(replay_rate / plain_rate, 3),
        "timeline_and_digest_seconds": round(digest_seconds, 1),
    }


def _bare_service() -> Service:
    return Service(
        "bare", IntakeSettings, SERVICES["intake"].migrations, "benchmarks.bare_app:create_app"
    )


async def main() -> None:
    await infra.require_servers()
    intake, dispatch = await processes.make("intake"), await processes.make("dispatch")
    bare = ServiceProcess(
        _bare_service(),
        processes.LOGS,
        env={
            "HOTLINE_DATABASE_URL": await infra.fresh_database(
                "bench_bare", intake.service.migrations
            ),
            "HOTLINE_ENVIRONMENT": "test",
        },
    )
    await seed_routing(dispatch)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "run_id": uuid.uuid4().hex[:8],
    }
    try:
        for process in (intake, bare):
            process.start(HOTLINE_LOG_LEVEL="WARNING")
            await process.ready()
        results["accept"] = bench_accept(intake, bare)
        bare.stop()
        results["drain"] = await bench_drain(dispatch)
        await dispatch.ready()
        results["latency"] = await bench_latency(intake, dispatch)
    finally:
        for process in (intake, dispatch, bare):
            process.stop()
    results["takeover"] = await bench_takeover()
    results["replay"] = await bench_replay()
    results["proofs"] = await proofs.bench_proofs()
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _print(results: dict[str, Any]) -> None:
    accept, latency, rep = results["accept"], results["latency"], results["replay"]
    rows = [
        (
            "POST /v1/appeals (accepted/s)",
            accept["intake_per_s"],
            "bare insert+commit",
            accept["bare_insert_per_s"],
            accept["ratio"],
        ),
        ("POST -> assigned visible p50 ms", latency["p50_ms"], "p99 ms", latency["p99_ms"], ""),
        (
            "dispatch backlog drain (assigned/s)",
            results["drain"]["assigned_per_s"],
            "backlog appeals",
            results["drain"]["appeals"],
            "",
        ),
        (
            "audit replay (facts/s)",
            rep["replay_facts_per_s"],
            "plain aiokafka consume",
            rep["plain_consume_per_s"],
            rep["ratio"],
        ),
        (
            f"receipt at {results['proofs']['large']['facts']:,} facts (p50 ms)",
            results["proofs"]["large"]["inclusion_p50_ms"],
            f"at {results['proofs']['small']['facts']:,} facts",
            results["proofs"]["small"]["inclusion_p50_ms"],
            results["proofs"]["inclusion_ratio"],
        ),
        (
            "consistency proof, same (p50 ms)",
            results["proofs"]["large"]["consistency_p50_ms"],
            "at the small size",
            results["proofs"]["small"]["consistency_p50_ms"],
            results["proofs"]["consistency_ratio"],
        ),
    ]
    print(f"\n{'measure':34} {'value':>10}   {'baseline':24} {'value':>10} {'ratio':>7}")
    for name, value, base_name, base, ratio in rows:
        print(f"{name:34} {value:>10}   {base_name:24} {base:>10} {ratio!s:>7}")
    takeover = results["takeover"]
    for sig, target in (("sigkill", 5), ("sigterm", 1)):
        for what in ("partitions", "relay"):
            figure = takeover[f"{sig}_{what}_s"]
            print(
                f"takeover after {sig.upper()}, {what}: median {figure['median']} s, "
                f"max {figure['max']} s (target < {target} s)"
            )
    print(f"\nwritten to {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
