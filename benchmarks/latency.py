"""The latency figures alone: POST to assignment at several paced rates, then whole
lifecycles, on the four services as `make bench` starts them (intake as web and worker
processes), without the accept, drain, replay and proof phases around them.

    HOTLINE_TEST_KAFKA_PORT=… HOTLINE_TEST_KAFKA_CONTROLLER_PORT=… HOTLINE_TEST_PG_PORT=… \
        bash services/with-test-stack.sh .venv/bin/python -m benchmarks.latency

BENCH_PACED_RATES (default "5,20,50,100"), BENCH_PACED_SECONDS (20),
BENCH_LIFECYCLE_CONCURRENCY ("1,64": one at a time shows a lifecycle's fixed delays, many
at once its throughput), BENCH_LIFECYCLE_SECONDS (20). Prints one JSON document.
"""

import asyncio
import json
import os
import statistics
import time
from typing import Any

import asyncpg
import uvloop

from benchmarks import lifecycles, measure, paced, throughput
from dispatch_service.handlers import HANDLERS as DISPATCH_HANDLERS
from feedback_service.handlers import HANDLERS as FEEDBACK_HANDLERS
from services.cli import DEPARTMENT_SCOPES
from shared import topics
from shared.runtime.consumer import subscriptions
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, processes

RATES = [float(r) for r in os.environ.get("BENCH_PACED_RATES", "5,20,50,100").split(",") if r]
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "20"))
CONCURRENCIES = [
    int(c) for c in os.environ.get("BENCH_LIFECYCLE_CONCURRENCY", "1,64").split(",") if c
]
LIFECYCLE_SECONDS = float(os.environ.get("BENCH_LIFECYCLE_SECONDS", "20"))


async def hops(intake_dsn: str, dispatch_dsn: str, seconds: float) -> dict[str, float]:
    """Medians of the filing's hops over the last `seconds`: its commit to the relay's claim
    (relay wake-up), the claim to dispatch's consume transaction (produce, fetch), from
    `now()` of each transaction, so each includes the time until the next began."""
    intake, dispatch = await asyncpg.connect(intake_dsn), await asyncpg.connect(dispatch_dsn)
    try:
        filed = await intake.fetch(
            "SELECT stream_id, recorded_at, published_at FROM events"
            " WHERE type = 'appeal.received' AND recorded_at > now() - make_interval(secs => $1)",
            seconds,
        )
        consumed = dict(
            await dispatch.fetch(
                "SELECT stream_id, recorded_at FROM events"
                " WHERE type = 'appeal.assigned' AND stream_id = ANY($1)",
                [row["stream_id"] for row in filed],
            )
        )
    finally:
        await intake.close()
        await dispatch.close()
    relay = [(r["published_at"] - r["recorded_at"]).total_seconds() for r in filed]
    fetch = [
        (consumed[r["stream_id"]] - r["published_at"]).total_seconds()
        for r in filed
        if r["stream_id"] in consumed
    ]
    return {
        "filed_to_relay_claim_p50_ms": round(statistics.median(relay) * 1000, 1),
        "relay_claim_to_consume_p50_ms": round(statistics.median(fetch) * 1000, 1),
    }


async def main() -> None:
    await infra.require_servers()
    intake, dispatch, feedback, audit = [
        await processes.make(name) for name in ("intake", "dispatch", "feedback", "audit")
    ]
    for service in (intake, dispatch, feedback, audit):
        service.split = service.service.name in measure.SPLIT  # as make bench runs them
    await seed_routing(dispatch)
    everything = [intake, dispatch, feedback, audit]
    operator = processes.bearer(*processes.OPERATOR)
    results: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    try:
        for process in everything:
            process.start(HOTLINE_LOG_LEVEL="WARNING")
        for process in everything:
            await process.ready()
        for rate in RATES:
            results[f"paced_{rate:g}"] = await paced.post_to_assignment(
                intake.url,
                measure.dsn(processes.database_url(dispatch)),
                headers=operator,
                appeal=APPEAL,
                rate=rate,
                seconds=PACED_SECONDS,
            )
            results[f"paced_{rate:g}"]["load_average"] = os.getloadavg()
            if rate <= 20:
                results[f"paced_{rate:g}"]["hops"] = await hops(
                    measure.dsn(processes.database_url(intake)),
                    measure.dsn(processes.database_url(dispatch)),
                    PACED_SECONDS,
                )
            await asyncio.sleep(2)  # let the consumers settle between rates
        groups = {
            processes.group(feedback): subscriptions(FEEDBACK_HANDLERS),
            processes.group(audit): topics.ALL,
            processes.group(dispatch): subscriptions(DISPATCH_HANDLERS),
        }
        results["catch_up_seconds"] = await throughput.caught_up(groups)
        for concurrency in CONCURRENCIES:
            began = time.perf_counter()
            results[f"lifecycles_{concurrency}"] = await lifecycles.run(
                {"intake": intake.url, "dispatch": dispatch.url, "feedback": feedback.url},
                appeal=APPEAL,
                operator=operator,
                department=processes.bearer(*DEPARTMENT_SCOPES, department="water"),
                concurrency=concurrency,
                seconds=LIFECYCLE_SECONDS,
            )
            results[f"lifecycles_{concurrency}"]["load_average"] = os.getloadavg()
            results[f"lifecycles_{concurrency}"]["wall_s"] = round(time.perf_counter() - began)
    finally:
        for process in everything:
            process.stop()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    # The driver on the event loop the services run on: its own CPU per request is part of
    # what the two cores share (benchmarks/client.py).
    uvloop.run(main())
