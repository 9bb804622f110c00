"""A service starts without its dependencies: alive at once, ready only when they are."""

import httpx
import pytest

from services.catalog import SERVICES
from services.processes import ServiceProcess, free_port
from tests.support import polling, processes

pytestmark = pytest.mark.e2e


async def test_a_service_without_database_or_broker_is_alive_but_not_ready() -> None:
    nowhere = free_port()  # nothing listens there
    dispatch = ServiceProcess(
        SERVICES["dispatch"],
        processes.LOGS,
        env={
            "HOTLINE_DATABASE_URL": f"postgresql+asyncpg://hotline@127.0.0.1:{nowhere}/dispatch",
            "HOTLINE_KAFKA_BOOTSTRAP": f"127.0.0.1:{nowhere}",
        },
    )
    dispatch.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:

            async def alive() -> bool | None:
                try:
                    return (await client.get(f"{dispatch.url}/livez")).status_code == 200 or None
                except httpx.TransportError:
                    return None

            await polling.until(alive, what="/livez")
            ready = await client.get(f"{dispatch.url}/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"] is False
        assert checks["consume_loop"] is False
    finally:
        dispatch.stop()
