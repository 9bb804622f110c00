"""Intake keeps accepting while Kafka is down: appeals commit to its outbox, /readyz stays
200 with Kafka "degraded", and once the broker is back the relay delivers them to dispatch.

CAUTION: this stops the test session's shared broker (services/kafka.sh stop). It always
starts it again and waits for it before finishing (and before any other test can run: tests
run one at a time), bounded in time; the services are its own, so no other test's state
depends on this outage."""

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
KAFKA_SH = Path(__file__).resolve().parents[2] / "services" / "kafka.sh"
APPEALS = 3


def _kafka(command: str) -> None:
    subprocess.run(
        ["bash", str(KAFKA_SH), command],
        check=True,
        timeout=120,
        env={**os.environ, "KAFKA_WAIT_SECONDS": "90"},
        stdout=subprocess.DEVNULL,
    )


@contextlib.asynccontextmanager
async def _outage() -> AsyncIterator[None]:
    """The shared broker stopped within the block; always started again on leaving, and
    waited for (kafka.sh start returns once the broker answers)."""
    await asyncio.to_thread(_kafka, "stop")
    try:
        yield
    finally:
        await asyncio.to_thread(_kafka, "start")


@pytest.mark.timeout(240)
async def test_intake_accepts_while_kafka_is_down_and_delivers_after(servers: None) -> None:
    operator = bearer(*OPERATOR)
    async with running_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        ids: list[str] = []
        async with _outage():
            # The relay notices the broker is gone within its request timeout; meanwhile
            # and after, intake answers and accepts.
            async def degraded() -> dict[str, object] | None:
                ready = await client.get(f"{stack.intake.url}/readyz")
                body: dict[str, object] = ready.json()
                assert ready.status_code == 200, body
                return body if body["checks"]["kafka"] == "degraded" else None  # type: ignore[index]

            body = await polling.until(degraded, what="intake's kafka check to degrade")
            assert body["status"] == "degraded"
            for n in range(APPEALS):
                created = await client.post(
                    f"{stack.intake.url}/v1/appeals",
                    json=APPEAL,
                    headers={**operator, "Idempotency-Key": f"outage-{n}"},
                )
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            still = await client.get(f"{stack.intake.url}/readyz")
            assert still.status_code == 200
            unpublished = await infra.query(
                processes.database_url(stack.intake),
                "SELECT count(*) FROM events WHERE published_at IS NULL",
            )
            assert unpublished[0][0] >= APPEALS  # in the outbox, waiting for the broker

        # The broker is back: every appeal reaches dispatch as a work order.
        water = bearer(*DEPARTMENT_SCOPES, department="water")
        for appeal_id in ids:

            async def assigned(appeal_id: str = appeal_id) -> bool | None:
                answer = await client.get(
                    f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", headers=water
                )
                return True if answer.status_code == 200 else None

            await polling.until(assigned, what=f"work order {appeal_id}", deadline_seconds=90)
        ready = await client.get(f"{stack.intake.url}/readyz")
        assert ready.json()["checks"]["kafka"] == "ok"
