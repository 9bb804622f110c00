import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from dispatch_service import seed
from services.processes import ServiceProcess
from shared.runtime.database import Database
from tests.support import processes


@dataclass
class Stack:
    intake: ServiceProcess
    dispatch: ServiceProcess
    feedback: ServiceProcess
    audit: ServiceProcess

    @property
    def all(self) -> list[ServiceProcess]:
        return [self.intake, self.dispatch, self.feedback, self.audit]


async def seed_routing(dispatch: ServiceProcess) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(processes.database_url(dispatch))
    async with Database(engine).transaction() as tx:
        await seed.seed(tx)
    await engine.dispose()


@contextlib.asynccontextmanager
async def running_stack(
    env: dict[str, dict[str, str]] | None = None,
    prepare: Callable[[Stack], Awaitable[None]] | None = None,
) -> AsyncIterator[Stack]:
    """The four services as processes, each with a fresh database and consumer group, demo
    routing seeded; `env` adds settings per service name, `prepare` runs before they start."""
    running = Stack(*[await processes.make(n) for n in ("intake", "dispatch", "feedback", "audit")])
    for service in (running.feedback, running.audit):  # they ask intake for citizens' keys
        service.env["HOTLINE_INTAKE_URL"] = running.intake.url
    for service in running.all:
        service.env.update((env or {}).get(service.service.name, {}))
    await seed_routing(running.dispatch)
    if prepare is not None:
        await prepare(running)
    for service in running.all:
        service.start()
    try:
        for service in running.all:
            await service.ready()
        yield running
    finally:
        for service in running.all:
            service.stop()


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    async with running_stack() as running:
        yield running
