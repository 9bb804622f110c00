import os
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from shared.runtime import trace_provider
from shared.runtime.database import Database
from tests.support import infra

# Unset means production (which refuses the built-in keys the tests sign with): the tests
# name their environment explicitly, for themselves and every process they start.
os.environ["HOTLINE_ENVIRONMENT"] = "test"


# Tests that leave a large log on the shared topics run last, whatever order pytest was
# asked for: every fresh audit service an e2e test starts reads all topics from offset 0.
_LAST = ("tests/integration/test_replay_memory.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(_LAST))  # stable: the rest keep order


@pytest.fixture(scope="session")
async def servers() -> None:
    await infra.require_servers()


@pytest.fixture
async def db(servers: None) -> AsyncIterator[Database]:
    """A fresh database with the runtime tables (intake's migrations), on real PostgreSQL."""
    url = await infra.fresh_database("t_store", INTAKE_MIGRATIONS)
    engine = create_async_engine(url, pool_size=20)
    yield Database(engine)
    await engine.dispose()


_SPANS = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this process finishes during the test, kept in memory. The tracer provider
    is the process's own (trace_provider.configure); the exporter is added to it once."""
    provider = trace_provider.configure("test")
    if not getattr(provider, "_hotline_test_exporter", False):
        trace_provider.export(provider, SimpleSpanProcessor(_SPANS))
        provider._hotline_test_exporter = True  # type: ignore[attr-defined]
    _SPANS.clear()
    yield _SPANS
    _SPANS.clear()
