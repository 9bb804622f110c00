"""A replay of 200,000 facts runs in memory that does not grow with the number of facts: the
same replay over 20,000 facts peaks at nearly the same resident size.

Each replay runs in a process of its own (tests/support/replay_probe.py) so its peak RSS is
its own. It leaves 200,000 facts on the shared topics, so it must run after the e2e tests,
whose fresh audit services read every topic from offset 0: tests/conftest.py puts it last
whatever order pytest is given.
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from audit_service.main import MIGRATIONS
from shared import topics
from tests.support import histories, infra

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGE = 20_000, 200_000
# Growth allowed from the small replay's peak to the large one's: fixed-size buffers (Kafka
# fetches, cursor batches, COPY batches) fill only once there is enough data. Measured on
# the 2-core box: 120 MiB at 20,000 facts, 131 MiB at 200,000 (x1.09); with aiokafka's
# default 50 MiB fetches it was 187 MiB (x1.54).
ALLOWED_GROWTH = 1.25


async def _facts_on_topics() -> int:
    return sum((await infra.end_offsets(topics.ALL)).values())


async def _replay_in_its_own_process() -> dict[str, Any]:
    url = await infra.fresh_database("t_replay_memory", MIGRATIONS)
    probe = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.replay_probe",
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(probe.communicate(), timeout=420)
    assert probe.returncode == 0, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out.decode().splitlines()[-1])
    return result


async def _produce_up_to(total: int) -> None:
    missing = total - await _facts_on_topics()
    if missing > 0:
        await histories.produce(-(-missing // 5))


@pytest.mark.timeout(900)
async def test_a_replay_of_200000_facts_runs_in_bounded_memory(servers: None) -> None:
    await _produce_up_to(SMALL)
    small = await _replay_in_its_own_process()
    await _produce_up_to(LARGE + 500)  # a margin for records other tests left unreadable
    large = await _replay_in_its_own_process()

    assert large["facts_read"] >= LARGE
    assert large["facts_read"] >= 5 * small["facts_read"]  # a real difference in size
    growth = large["peak_kib"] / small["peak_kib"]
    print(f"\nreplay peak RSS: {small} vs {large}: x{growth:.2f}")
    assert growth <= ALLOWED_GROWTH, (small, large)
